// The protocol's primitives over WebCrypto: P-256 keys (ECDSA to sign, ECDH for sessions),
// key ids, HKDF-SHA256 and HMAC-SHA256 — the same as carhome.signing.keys and .session.
import { bytes, concat, equal, toBase64Url, type Bytes } from "./bytes";
import { derFromRaw, rawFromDer } from "./der";

export const POINT_SIZE = 65;
export const KEY_ID_SIZE = 16;
const CURVE = "P-256";

/**
 * One P-256 private key held twice by WebCrypto, because a CryptoKey is bound to one
 * algorithm: as ECDSA (enrollment proofs, approvals) and as ECDH (session keys). Both are
 * non-extractable; `point` is the public key, 65 bytes uncompressed.
 */
export interface KeyPair {
  sign: CryptoKey;
  ecdh: CryptoKey;
  point: Bytes;
}

function checkPoint(point: Uint8Array): void {
  if (point.length !== POINT_SIZE || point[0] !== 0x04) {
    throw new Error(`a public key is a ${POINT_SIZE}-byte uncompressed P-256 point`);
  }
}

async function privateFromJwk(jwk: JsonWebKey, point: Bytes): Promise<KeyPair> {
  const { d, x, y, kty, crv } = jwk;
  const base = { d, x, y, kty, crv };
  const sign = await crypto.subtle.importKey("jwk", base, { name: "ECDSA", namedCurve: CURVE }, false, ["sign"]);
  const ecdh = await crypto.subtle.importKey("jwk", base, { name: "ECDH", namedCurve: CURVE }, false, [
    "deriveBits",
  ]);
  return { sign, ecdh, point };
}

/**
 * A new key. WebCrypto cannot use one generated key for both ECDSA and ECDH, so the scalar
 * exists as an exportable key for the moment it takes to import it twice, non-extractable;
 * only those two are kept.
 */
export async function generateKey(): Promise<KeyPair> {
  const made = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: CURVE }, true, ["sign", "verify"]);
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", made.publicKey)) as Bytes;
  const jwk = await crypto.subtle.exportKey("jwk", made.privateKey);
  return privateFromJwk(jwk, point);
}

/** The key with this private scalar and point — for test vectors only, never real keys. */
export async function keyFromScalar(scalar: Uint8Array, point: Uint8Array): Promise<KeyPair> {
  checkPoint(point);
  const jwk: JsonWebKey = {
    kty: "EC",
    crv: CURVE,
    d: toBase64Url(scalar),
    x: toBase64Url(point.subarray(1, 33)),
    y: toBase64Url(point.subarray(33)),
  };
  return privateFromJwk(jwk, concat(point));
}

export async function sha256(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data)) as Bytes;
}

/** A key's id: the first 16 bytes of SHA-256 of its point. */
export async function keyId(point: Bytes): Promise<Bytes> {
  checkPoint(point);
  return (await sha256(point)).slice(0, KEY_ID_SIZE);
}

async function publicKey(point: Bytes, name: "ECDSA" | "ECDH"): Promise<CryptoKey> {
  checkPoint(point);
  return crypto.subtle.importKey("raw", point, { name, namedCurve: CURVE }, false, name === "ECDSA" ? ["verify"] : []);
}

/** ECDSA P-256 over SHA-256, DER-encoded, as devices check it. */
export async function signDer(key: KeyPair, data: Bytes): Promise<Bytes> {
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.sign, data));
  return derFromRaw(raw);
}

export async function verifyDer(point: Bytes, der: Uint8Array, data: Bytes): Promise<boolean> {
  const key = await publicKey(point, "ECDSA");
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, rawFromDer(der), data);
}

/** The ECDH shared secret with `peer`: the x coordinate, 32 bytes. */
export async function ecdh(own: KeyPair, peer: Bytes): Promise<Bytes> {
  const bits = await crypto.subtle.deriveBits(
    { name: "ECDH", public: await publicKey(peer, "ECDH") },
    own.ecdh,
    256,
  );
  return new Uint8Array(bits) as Bytes;
}

/** HKDF-SHA256 without salt (the RFC's zero salt, as Python's `salt=None`). */
export async function hkdf(secret: Bytes, info: Bytes, length: number): Promise<Bytes> {
  const key = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: bytes(0), info }, key, 8 * length);
  return new Uint8Array(bits) as Bytes;
}

export async function mac(key: Bytes, data: Bytes): Promise<Bytes> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data)) as Bytes;
}

/** Compare tags in constant time. */
export function sameTag(a: Uint8Array, b: Uint8Array): boolean {
  return equal(a, b);
}
