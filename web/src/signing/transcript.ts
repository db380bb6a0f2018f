// Transcripts (docs/signing.md, "Transcript encoding"): the one canonical byte form of all
// that is signed or MACed — tag (1 byte) · length (u16 big-endian) · value, tags strictly
// ascending after the scheme (tag 1), closed by 0xff. The same bytes as
// carhome.signing.transcript, so the device and the browser agree on what was signed.
import { concat, utf8, type Bytes } from "./bytes";

/** Field tags: part of the wire format. */
export const Tag = {
  SCHEME: 0x01,
  DOMAIN: 0x02,
  HOME: 0x03,
  DEVICE: 0x04,
  EPOCH: 0x05,
  EXPIRES_AT: 0x06,
  COUNTER: 0x07,
  COMMAND_ID: 0x08,
  KIND: 0x09,
  TARGET: 0x0a,
  ARGS: 0x0b,
  MEMBER: 0x0c,
  EXPIRES: 0x0d,
  PHONE_KEY: 0x10,
  DEVICE_KEY: 0x11,
  NONCE: 0x12,
  CLOCK: 0x13,
  ROLE: 0x14,
  CODE: 0x15,
} as const;

const END = 0xff;
const MAX_VALUE = 0xffff;

export type Field = [tag: number, value: Uint8Array | string];

export function transcript(scheme: string, ...fields: Field[]): Bytes {
  const parts: Uint8Array[] = [];
  let last = Tag.SCHEME as number;
  for (const [tag, value] of [[Tag.SCHEME, scheme] as Field, ...fields]) {
    if (tag !== Tag.SCHEME && (tag <= last || tag >= END)) {
      throw new Error(`transcript tags must ascend after the scheme: ${tag} after ${last}`);
    }
    last = tag;
    const raw = typeof value === "string" ? utf8(value) : value;
    if (raw.length > MAX_VALUE) throw new RangeError(`field ${tag} is ${raw.length} bytes; at most ${MAX_VALUE}`);
    parts.push(Uint8Array.of(tag, raw.length >> 8, raw.length & 0xff), raw);
  }
  parts.push(Uint8Array.of(END));
  return concat(...parts);
}
