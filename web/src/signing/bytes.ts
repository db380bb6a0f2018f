// Byte helpers for the signing protocol: one byte type, hex, base64 (standard, as the hub's
// JSON carries bytes) and base64url without padding (as a signature travels).

/** Bytes backed by a plain ArrayBuffer, which is what WebCrypto takes. */
export type Bytes = Uint8Array<ArrayBuffer>;

export function bytes(length: number): Bytes {
  return new Uint8Array(new ArrayBuffer(length));
}

export function concat(...parts: Uint8Array[]): Bytes {
  const out = bytes(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function utf8(text: string): Bytes {
  const encoded = new TextEncoder().encode(text);
  const out = bytes(encoded.length);
  out.set(encoded);
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function toHex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text: string): Bytes {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error(`expected an even number of hex digits, got ${JSON.stringify(text.slice(0, 20))}`);
  }
  const out = bytes(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function binary(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return s;
}

/** Standard base64 with padding: how the hub's JSON (msgspec) spells bytes. */
export function toBase64(data: Uint8Array): string {
  return btoa(binary(data));
}

export function fromBase64(text: string): Bytes {
  const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = bytes(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** base64url without padding: the one spelling of a signature envelope. */
export function toBase64Url(data: Uint8Array): string {
  return toBase64(data).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function u32(value: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`expected an unsigned 32-bit integer, got ${value}`);
  }
  const out = bytes(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function float64(value: number): Bytes {
  const out = bytes(8);
  new DataView(out.buffer).setFloat64(0, value);
  return out;
}
