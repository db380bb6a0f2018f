// The phone side of docs/signing.md, as carhome.signing.phone/.session/.envelope/.enrollment
// do it: session keys and the session-info check, command tags and envelopes, the
// enrollment, presence and revocation transcripts.
import { float64, u32, utf8, type Bytes } from "./bytes";
import { ecdh, hkdf, keyId, mac, sameTag, signDer, type KeyPair } from "./crypto";
import { encodeEnvelope } from "./envelope";
import { Tag, transcript } from "./transcript";

export const SESSION_SCHEME = "carhome-session-v1";
export const INFO_SCHEME = "carhome-session-info-v1";
export const COMMAND_SCHEME = "carhome-cmd-v1";
export const ENROLL_SCHEME = "carhome-enroll-v1";
export const PRESENCE_SCHEME = "carhome-presence-v1";
export const REVOKE_SCHEME = "carhome-revoke-v1";
export const MAX_TTL = 300;
const MAX_U32 = 0xffffffff;
const KEY_SIZE = 32;

export type Role = "owner" | "family" | "guest";
export type CommandKind = "set" | "action";

export function sessionContext(home: string, device: string, epoch: Bytes, phone: Bytes, deviceKey: Bytes): Bytes {
  return transcript(
    SESSION_SCHEME,
    [Tag.HOME, home],
    [Tag.DEVICE, device],
    [Tag.EPOCH, epoch],
    [Tag.PHONE_KEY, phone],
    [Tag.DEVICE_KEY, deviceKey],
  );
}

export interface SessionKeys {
  command: Bytes;
  info: Bytes;
}

export async function deriveSessionKeys(
  own: KeyPair,
  deviceKey: Bytes,
  home: string,
  device: string,
  epoch: Bytes,
): Promise<SessionKeys> {
  const secret = await ecdh(own, deviceKey);
  const okm = await hkdf(secret, sessionContext(home, device, epoch, own.point, deviceKey), 2 * KEY_SIZE);
  return { command: okm.slice(0, KEY_SIZE), info: okm.slice(KEY_SIZE) };
}

export interface SessionInfo {
  home: string;
  device: string;
  deviceKey: Bytes;
  epoch: Bytes;
  clock: number;
  counter: number;
  tag: Bytes;
}

export function sessionInfoTranscript(info: Omit<SessionInfo, "tag">, phone: Bytes, nonce: Bytes): Bytes {
  return transcript(
    INFO_SCHEME,
    [Tag.HOME, info.home],
    [Tag.DEVICE, info.device],
    [Tag.EPOCH, info.epoch],
    [Tag.COUNTER, u32(info.counter)],
    [Tag.PHONE_KEY, phone],
    [Tag.DEVICE_KEY, info.deviceKey],
    [Tag.NONCE, nonce],
    [Tag.CLOCK, u32(info.clock)],
  );
}

/** A short stable code and a sentence: why this browser would not open or use a session. */
export class SessionRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The fields of a command a signature binds. */
export interface CommandFields {
  id: string;
  home: string;
  device: string;
  kind: CommandKind;
  target: string;
  args: Record<string, unknown>;
  member: string;
  expires: number;
}

/**
 * JSON with sorted keys and no spaces, as msgspec writes it. JavaScript has one number
 * type, so `floats` names the arguments the device's spec makes floats: a whole number
 * there is written `21.0`, as the device will see it.
 */
export function canonicalArgs(args: Record<string, unknown>, floats: ReadonlySet<string> = new Set()): string {
  const value = (v: unknown, float: boolean): string => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new RangeError("arguments are finite numbers");
      return float && Number.isInteger(v) ? `${v}.0` : JSON.stringify(v);
    }
    if (Array.isArray(v)) return `[${v.map((x) => value(x, float)).join(",")}]`;
    if (v !== null && typeof v === "object") {
      const entries = Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${value((v as Record<string, unknown>)[k], false)}`);
      return `{${entries.join(",")}}`;
    }
    return JSON.stringify(v);
  };
  const keys = Object.keys(args).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${value(args[k], floats.has(k))}`).join(",")}}`;
}

export function commandTranscript(
  fields: CommandFields,
  o: { domain: string; epoch: Bytes; expiresAt: number; counter: number; floats?: ReadonlySet<string> },
): Bytes {
  return transcript(
    COMMAND_SCHEME,
    [Tag.DOMAIN, o.domain],
    [Tag.HOME, fields.home],
    [Tag.DEVICE, fields.device],
    [Tag.EPOCH, o.epoch],
    [Tag.EXPIRES_AT, u32(o.expiresAt)],
    [Tag.COUNTER, u32(o.counter)],
    [Tag.COMMAND_ID, fields.id],
    [Tag.KIND, fields.kind],
    [Tag.TARGET, fields.target],
    [Tag.ARGS, utf8(canonicalArgs(fields.args, o.floats))],
    [Tag.MEMBER, fields.member],
    [Tag.EXPIRES, float64(fields.expires)],
  );
}

/**
 * One key's session with one device in one epoch: opened from the device's answer after
 * checking the device key against the pin and the tag against our nonce; then signs
 * commands with the next counter and an expiry on the device's epoch clock. `now` is
 * this browser's monotonic clock in seconds (performance.now() / 1000): only the time
 * elapsed since the session opened counts, so the browser's wall clock does not matter.
 */
export class PhoneSession {
  private constructor(
    readonly key: KeyPair,
    readonly keyId: Bytes,
    readonly home: string,
    readonly device: string,
    readonly epoch: Bytes,
    private readonly keys: SessionKeys,
    private last: number,
    private readonly clock: number,
    private readonly openedAt: number,
  ) {}

  static async open(key: KeyPair, pinned: Bytes, nonce: Bytes, info: SessionInfo, now: number): Promise<PhoneSession> {
    if (!sameTag(info.deviceKey, pinned)) {
      throw new SessionRefused(
        "wrong_device_key",
        `${info.device} answered with a key other than the one pinned at enrollment; do not use this device until an owner checks it`,
      );
    }
    const keys = await deriveSessionKeys(key, pinned, info.home, info.device, info.epoch);
    const expected = await mac(keys.info, sessionInfoTranscript(info, key.point, nonce));
    if (!sameTag(expected, info.tag)) {
      throw new SessionRefused("bad_session_tag", "the session answer is not from the pinned device or was altered");
    }
    return new PhoneSession(key, await keyId(key.point), info.home, info.device, info.epoch, keys, info.counter, info.clock, now);
  }

  /** The counter of the last command signed. */
  get counter(): number {
    return this.last;
  }

  async sign(
    fields: CommandFields,
    o: { domain: string | null; now: number; ttl: number; floats?: ReadonlySet<string> },
  ): Promise<string> {
    if (fields.home !== this.home || fields.device !== this.device) {
      throw new SessionRefused("wrong_device", `this session is with ${this.home}/${this.device}`);
    }
    if (!(o.ttl > 0 && o.ttl <= MAX_TTL)) throw new SessionRefused("bad_ttl", `ttl must be more than 0 and at most ${MAX_TTL} s`);
    if (this.last >= MAX_U32) throw new SessionRefused("counter_exhausted", "open a new session");
    const elapsed = Math.max(0, o.now - this.openedAt);
    // rounded down: a command may die a second early, never late
    const expiresAt = Math.floor(this.clock + elapsed + o.ttl);
    if (expiresAt > MAX_U32) throw new SessionRefused("epoch_too_old", "open a new session");
    const counter = this.last + 1;
    const domain = o.domain ?? "";
    const tag = await mac(
      this.keys.command,
      commandTranscript(fields, { domain, epoch: this.epoch, expiresAt, counter, floats: o.floats }),
    );
    this.last = counter;
    return encodeEnvelope({ keyId: this.keyId, epoch: this.epoch, counter, expiresAt, domain, tag });
  }
}

/** What an enrollment challenge tells the browser (the device shows the code, never sends it). */
export interface Challenge {
  home: string;
  device: string;
  deviceKey: Bytes;
  nonce: Bytes;
}

function enrollFields(c: Challenge, newKey: Bytes, role: Role, member: string) {
  return [
    [Tag.HOME, c.home],
    [Tag.DEVICE, c.device],
    [Tag.MEMBER, member],
    [Tag.PHONE_KEY, newKey],
    [Tag.DEVICE_KEY, c.deviceKey],
    [Tag.NONCE, c.nonce],
    [Tag.ROLE, role],
  ] as [number, Bytes | string][];
}

/** What an approving owner signs. */
export function enrollmentTranscript(c: Challenge, newKey: Bytes, role: Role, member: string): Bytes {
  return transcript(ENROLL_SCHEME, ...enrollFields(c, newKey, role, member));
}

/** What the new key signs: the same fields and the code read off the device. */
export function presenceTranscript(c: Challenge, newKey: Bytes, role: Role, member: string, code: string): Bytes {
  return transcript(PRESENCE_SCHEME, ...enrollFields(c, newKey, role, member), [Tag.CODE, code]);
}

/** As an owner enrolled on the device: approve `newKey` for `member` in `role`. */
export function approve(owner: KeyPair, c: Challenge, newKey: Bytes, role: Role, member: string): Promise<Bytes> {
  return signDer(owner, enrollmentTranscript(c, newKey, role, member));
}

export function presenceProof(key: KeyPair, c: Challenge, role: Role, member: string, code: string): Promise<Bytes> {
  return signDer(key, presenceTranscript(c, key.point, role, member, code));
}

export function revokeTranscript(home: string, device: string, revoked: Bytes, deviceKey: Bytes): Bytes {
  return transcript(REVOKE_SCHEME, [Tag.HOME, home], [Tag.DEVICE, device], [Tag.PHONE_KEY, revoked], [Tag.DEVICE_KEY, deviceKey]);
}

export function approveRevocation(owner: KeyPair, home: string, device: string, revoked: Bytes, deviceKey: Bytes): Promise<Bytes> {
  return signDer(owner, revokeTranscript(home, device, revoked, deviceKey));
}
