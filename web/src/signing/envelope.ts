// The signature envelope: the MessagePack array [v=1, key_id(16), epoch(16), counter,
// expires_at, domain, tag(32)] in base64url without padding (docs/signing.md, "A signed
// command"). Hand-written for this one fixed array, in the canonical (shortest) spelling
// msgspec writes, because the device accepts no other spelling of the same envelope.
import { bytes, concat, toBase64Url, utf8, type Bytes } from "./bytes";

export const VERSION = 1;

export interface Envelope {
  keyId: Uint8Array;
  epoch: Uint8Array;
  counter: number;
  expiresAt: number;
  domain: string;
  tag: Uint8Array;
}

function uint(value: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`expected an unsigned 32-bit integer, got ${value}`);
  }
  if (value < 0x80) return Uint8Array.of(value) as Bytes;
  if (value <= 0xff) return Uint8Array.of(0xcc, value) as Bytes;
  if (value <= 0xffff) return Uint8Array.of(0xcd, value >> 8, value & 0xff) as Bytes;
  const out = bytes(5);
  out[0] = 0xce;
  new DataView(out.buffer).setUint32(1, value);
  return out;
}

function bin(data: Uint8Array): Bytes {
  if (data.length > 0xff) throw new RangeError("envelope byte fields are short");
  return concat(Uint8Array.of(0xc4, data.length), data);
}

function str(text: string): Bytes {
  const raw = utf8(text);
  if (raw.length < 32) return concat(Uint8Array.of(0xa0 | raw.length), raw);
  if (raw.length <= 0xff) return concat(Uint8Array.of(0xd9, raw.length), raw);
  throw new RangeError("an envelope's domain is short");
}

export function envelopeBytes(e: Envelope): Bytes {
  if (e.keyId.length !== 16 || e.epoch.length !== 16 || e.tag.length !== 32) {
    throw new RangeError("key id and epoch are 16 bytes, a tag 32");
  }
  if (e.counter < 1) throw new RangeError("counters start at 1");
  return concat(
    Uint8Array.of(0x97), // fixarray of 7
    uint(VERSION),
    bin(e.keyId),
    bin(e.epoch),
    uint(e.counter),
    uint(e.expiresAt),
    str(e.domain),
    bin(e.tag),
  );
}

/** The string a signed command carries in its `signature` field. */
export function encodeEnvelope(e: Envelope): string {
  return toBase64Url(envelopeBytes(e));
}
