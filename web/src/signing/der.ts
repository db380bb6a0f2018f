// ECDSA signature formats: WebCrypto signs as raw r||s (64 bytes for P-256); carhome's
// devices check DER (SEQUENCE of two INTEGERs), as Python's cryptography writes it.
import { bytes, concat, type Bytes } from "./bytes";

const HALF = 32;

function derInteger(value: Uint8Array): Bytes {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  let body: Uint8Array = value.subarray(start);
  if ((body[0] ?? 0) & 0x80) body = concat(Uint8Array.of(0), body); // stays positive
  return concat(Uint8Array.of(0x02, body.length), body);
}

export function derFromRaw(raw: Uint8Array): Bytes {
  if (raw.length !== 2 * HALF) throw new RangeError(`a raw P-256 signature is ${2 * HALF} bytes`);
  const body = concat(derInteger(raw.subarray(0, HALF)), derInteger(raw.subarray(HALF)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

export function rawFromDer(der: Uint8Array): Bytes {
  const fail = () => new Error("not a DER ECDSA P-256 signature");
  if (der[0] !== 0x30 || der[1] !== der.length - 2) throw fail();
  const out = bytes(2 * HALF);
  let at = 2;
  for (const half of [0, 1]) {
    if (der[at] !== 0x02) throw fail();
    const length = der[at + 1] ?? 0;
    let value = der.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    while (value.length > HALF && value[0] === 0) value = value.subarray(1);
    if (value.length > HALF || value.length === 0) throw fail();
    out.set(value, half * HALF + HALF - value.length);
  }
  if (at !== der.length) throw fail();
  return out;
}
