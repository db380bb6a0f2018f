// The app's one way to send a command (store.send calls it): an action in a safety-critical
// domain of the device's spec is signed with this browser's key when it is enrolled on
// that device; everything else goes as a plain command, and the hub decides.
import { api, ApiError, type ActionOut, type Command, type SpecOut } from "../api";
import { sign, submit } from "./hub";
import { SessionRefused, type CommandKind } from "./protocol";
import { browserKey, pinned } from "./ring";

const FLOATS = new Set(["float", "double"]);

/** The safety-critical domain of the command, from the device's spec (null: ordinary). */
export function domainOf(spec: SpecOut | undefined, kind: CommandKind, target: string): string | null {
  if (kind !== "action" || spec === undefined) return null;
  return spec.actions.find((a) => a.name === target)?.domain ?? null;
}

function floatArgs(action: ActionOut | undefined): Set<string> {
  return new Set((action?.args ?? []).filter((a) => FLOATS.has(a.format)).map((a) => a.name));
}

/** Whether this browser can sign for `device` (it has a key and enrolled it there). */
export async function canSign(home: string, device: string): Promise<boolean> {
  return (await browserKey()) !== null && (await pinned(home, device)) !== null;
}

/**
 * A refusal that this browser's key would cure: `enroll` names the device to enroll it on.
 * The hub's own refusal (`needs the member's signature`) stays the reason shown.
 */
export class KeyNeeded extends ApiError {
  constructor(
    cause: ApiError,
    readonly enroll: string,
  ) {
    super(cause.status, cause.detail, cause.body);
  }
}

export async function submitCommand(
  home: string,
  device: string,
  spec: SpecOut | undefined,
  kind: CommandKind,
  target: string,
  args: Record<string, unknown>,
): Promise<Command> {
  const domain = domainOf(spec, kind, target);
  if (domain !== null && (await canSign(home, device))) {
    const action = spec?.actions.find((a) => a.name === target);
    try {
      const body = await sign(home, device, { kind, target, args, domain, floats: floatArgs(action) });
      return await submit(home, device, body);
    } catch (exc) {
      if (exc instanceof SessionRefused) throw new ApiError(403, exc.message, { reason: `${exc.reason}: ${exc.message}` });
      throw exc;
    }
  }
  try {
    return await api<Command>(`/api/devices/${home}/${device}/commands`, { method: "POST", body: { kind, target, args } });
  } catch (exc) {
    if (domain !== null && exc instanceof ApiError && exc.status === 403) throw new KeyNeeded(exc, device);
    throw exc;
  }
}
