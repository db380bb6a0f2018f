// This browser as a member's phone, through the hub's key routes (carhome.access.keyroutes), as
// carhome.signing.client.Phone does it: the hub only relays; the device checks the owner's
// approval, the code on its screen and every signed command.
import { api, type Command, type EnrolledKey, type EnrollmentChallenge, type PendingOut, type SessionOpened, type SignedBody } from "../api";
import { bytes, fromBase64, toBase64, toHex, type Bytes } from "./bytes";
import { keyId, type KeyPair } from "./crypto";
import { approve, approveRevocation, presenceProof, PhoneSession, SessionRefused, type Challenge, type CommandKind, type Role } from "./protocol";
import { browserKey, pin, pinned, unpin, type Pin } from "./ring";

/** How long a signed command from the browser lives (the device allows at most 300 s). */
export const COMMAND_TTL = 30;

/** An enrolled key as the page shows it: its id in hex, and whether it is this browser's. */
export interface KeyView extends EnrolledKey {
  id: string;
  mine: boolean;
}

function base(home: string, device: string): string {
  return `/api/keys/${encodeURIComponent(home)}/${encodeURIComponent(device)}`;
}

export async function needKey(): Promise<KeyPair> {
  const key = await browserKey();
  if (key === null) throw new SessionRefused("no_key", "this browser has no key yet; make one on the “This browser's key” page");
  return key;
}

async function needPin(home: string, device: string): Promise<Pin> {
  const found = await pinned(home, device);
  if (found === null) throw new SessionRefused("not_enrolled", `this browser's key is not enrolled on ${device}`);
  return found;
}

/** Open an enrollment on the device: it shows a code on its screen. */
export async function begin(home: string, device: string): Promise<Challenge> {
  return challengeOf(await api<EnrollmentChallenge>(`${base(home, device)}/begin`, { method: "POST" }));
}

/** The code from the hub's own screen (owners, on the hub's machine): `--code-from-hub`. */
export async function codeFromHub(home: string, device: string): Promise<string> {
  return (await api<{ code: string }>(`${base(home, device)}/code`)).code;
}

/** An owner's approval of a new key, when this browser is not the device's first owner. */
export interface Approval {
  approver: Bytes; // the approving owner's key id
  approval: Bytes; // DER ECDSA over the enrollment transcript
}

/** What asking for a key's enrollment says: this browser's key, who for, and its presence
 * proof over the code read off the device. */
async function asking(challenge: Challenge, o: { code: string; role: Role; member: string }): Promise<Record<string, string>> {
  const key = await needKey();
  const proof = await presenceProof(key, challenge, o.role, o.member, o.code);
  return {
    new_key: toBase64(key.point),
    role: o.role,
    member: o.member,
    nonce: toBase64(challenge.nonce),
    code: o.code,
    proof: toBase64(proof),
  };
}

/** Enroll this browser's key with the code read off the device; pins the device key. */
export async function enroll(
  challenge: Challenge,
  o: { code: string; role: Role; member: string; approval?: Approval },
): Promise<EnrolledKey> {
  const enrolled = await api<EnrolledKey>(`${base(challenge.home, challenge.device)}/enroll`, {
    method: "POST",
    body: {
      ...(await asking(challenge, o)),
      approver: o.approval ? toBase64(o.approval.approver) : null,
      approval: o.approval ? toBase64(o.approval.approval) : null,
    },
  });
  await pin({ home: challenge.home, device: challenge.device, deviceKey: challenge.deviceKey, member: o.member, role: o.role });
  return enrolled;
}

/** `key_id` as hex, for showing. */
export function pendingKeyId(p: PendingOut): string {
  return toHex(fromBase64(p.key_id));
}

function challengeOf(c: EnrollmentChallenge): Challenge {
  return { home: c.home, device: c.device, deviceKey: fromBase64(c.device_key), nonce: fromBase64(c.nonce) };
}

/** On a device with keys: leave this browser's request (with its presence proof over the
 * code) at the hub for an owner to approve from their own client. */
export async function ask(challenge: Challenge, o: { code: string; role: Role; member: string }): Promise<PendingOut> {
  return api<PendingOut>(`${base(challenge.home, challenge.device)}/pending`, {
    method: "POST",
    body: { ...(await asking(challenge, o)), device_key: toBase64(challenge.deviceKey) },
  });
}

/** Long-poll this browser's request until an owner settles it (or it expires); pins the
 * device key once enrolled. */
export async function outcome(asked: PendingOut, wait = 25): Promise<PendingOut> {
  let now = asked;
  while (now.status === "pending") {
    now = await api<PendingOut>(`${base(asked.home, asked.device)}/pending/${encodeURIComponent(asked.id)}?wait=${wait}`);
  }
  if (now.status === "enrolled") {
    const c = challengeOf(asked.challenge);
    await pin({ home: asked.home, device: asked.device, deviceKey: c.deviceKey, member: asked.member, role: asked.role });
  }
  return now;
}

/** The requests waiting on the device (owners). */
export function pending(home: string, device: string): Promise<PendingOut[]> {
  return api<PendingOut[]>(`${base(home, device)}/pending`);
}

/** As an owner enrolled there: approve a waiting request with this browser's key, after
 * checking it answers the device key this browser pinned (the hub cannot redirect it). */
export async function approvePending(p: PendingOut): Promise<PendingOut> {
  const key = await needKey();
  const found = await needPin(p.home, p.device);
  const c = challengeOf(p.challenge);
  if (c.home !== p.home || c.device !== p.device || toHex(c.deviceKey) !== toHex(found.deviceKey)) {
    throw new SessionRefused("device_key_mismatch", `the request answers a device key other than the one pinned for ${p.device}`);
  }
  const approval = await approve(key, c, fromBase64(p.new_key), p.role, p.member);
  return api<PendingOut>(`${base(p.home, p.device)}/pending/${encodeURIComponent(p.id)}/approve`, {
    method: "POST",
    body: { approver: toBase64(await keyId(key.point)), approval: toBase64(approval) },
  });
}

export function declinePending(p: PendingOut): Promise<PendingOut> {
  return api<PendingOut>(`${base(p.home, p.device)}/pending/${encodeURIComponent(p.id)}/decline`, { method: "POST" });
}

/** The keys enrolled on the device, this browser's marked. */
export async function keys(home: string, device: string): Promise<KeyView[]> {
  const listed = await api<EnrolledKey[]>(base(home, device));
  const mine = await browserKey();
  const myId = mine === null ? "" : toHex(await keyId(mine.point));
  return Promise.all(
    listed.map(async (k) => {
      const id = toHex(await keyId(fromBase64(k.point)));
      return { ...k, id, mine: id === myId };
    }),
  );
}

/** As an owner enrolled there: disable `point` on the device for good. */
export async function revoke(home: string, device: string, point: Bytes): Promise<EnrolledKey> {
  const key = await needKey();
  const found = await needPin(home, device);
  const approval = await approveRevocation(key, home, device, point, found.deviceKey);
  const revoked = await api<EnrolledKey>(`${base(home, device)}/revoke`, {
    method: "POST",
    body: { point: toBase64(point), approver: toBase64(await keyId(key.point)), approval: toBase64(approval) },
  });
  if (toHex(point) === toHex(key.point)) await unpin(home, device);
  return revoked;
}

// The last session per device: each command still asks for a fresh session (which tells
// the current epoch and the device's counter), but within one epoch a kept session's
// counter may run ahead of the device's, so two commands signed before either arrived
// never share a counter.
const sessions = new Map<string, PhoneSession>();

function monotonic(): number {
  return performance.now() / 1000;
}

function commandId(): string {
  return toHex(crypto.getRandomValues(bytes(16)));
}

/** Open a session with the device through the hub and sign one command. */
export async function sign(
  home: string,
  device: string,
  c: { kind: CommandKind; target: string; args: Record<string, unknown>; domain: string | null; floats?: ReadonlySet<string> },
  ttl = COMMAND_TTL,
): Promise<SignedBody> {
  const found = await needPin(home, device);
  const key = await needKey();
  const nonce = crypto.getRandomValues(bytes(16));
  const opened = await api<SessionOpened>(`${base(home, device)}/session`, {
    method: "POST",
    body: { phone_key: toBase64(key.point), nonce: toBase64(nonce) },
  });
  const now = monotonic();
  const i = opened.info;
  let session = await PhoneSession.open(
    key,
    found.deviceKey,
    nonce,
    {
      home: i.home,
      device: i.device,
      deviceKey: fromBase64(i.device_key),
      epoch: fromBase64(i.epoch),
      clock: i.clock,
      counter: i.counter,
      tag: fromBase64(i.tag),
    },
    now,
  );
  const kept = sessions.get(`${home}/${device}`);
  if (kept !== undefined && toHex(kept.epoch) === toHex(session.epoch) && kept.counter > session.counter) session = kept;
  sessions.set(`${home}/${device}`, session);
  const fields = {
    id: commandId(),
    home,
    device,
    kind: c.kind,
    target: c.target,
    args: c.args,
    member: opened.member,
    expires: opened.now + ttl,
  };
  const signature = await session.sign(fields, { domain: c.domain, now, ttl: Math.min(ttl, 300), floats: c.floats });
  return { id: fields.id, kind: c.kind, target: c.target, args: c.args, expires: fields.expires, member: fields.member, signature };
}

/** Submit a signed body: the hub checks the spec and member and relays it to the device. */
export function submit(home: string, device: string, body: SignedBody): Promise<Command> {
  return api<Command>(`/api/devices/${encodeURIComponent(home)}/${encodeURIComponent(device)}/signed-commands`, {
    method: "POST",
    body,
  });
}
