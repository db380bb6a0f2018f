// What went wrong, in words a person reads: the hub's reason for a refusal (the access
// decisions' in the app's language), a plain sentence when the hub cannot be reached
// (never the browser's "Failed to fetch"), and what the page itself got wrong otherwise;
// and the words for what the hub sends as data (roles, faces, decisions, scopes).
import type { ComponentChild } from "preact";
import { ApiError, Unreachable, type DeviceOut } from "./api";
import { t, tx, type MessageKey } from "./i18n";
import { en } from "./i18n/en";
import { targetLabel } from "./i18n/spec";

export function describe(exc: unknown): string {
  if (exc instanceof ApiError) {
    return exc.reason !== "" ? exc.reason : t("error.hub", { status: exc.status });
  }
  if (exc instanceof Unreachable || (exc instanceof TypeError && /fetch|network/i.test(exc.message))) {
    return t("error.unreachable");
  }
  return t("error.unexpected", { reason: exc instanceof Error ? exc.message : String(exc) });
}

/** A word carhome sends as data (a role, a face, a decision, a scope) from the catalog. */
export function word(prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return key in en ? t(key as MessageKey) : value;
}

/** An access decision's reason in the app's language: the gatekeeper's sentences are
 * known by their form (the hub gives them as text, with no code); any other is shown as
 * the hub wrote it, marked as English. */
export function hubReason(reason: string, devices: DeviceOut[]): ComponentChild {
  const deviceName = (id: string) => devices.find((d) => d.id === id)?.name ?? id;
  const typeOf = (id: string) => devices.find((d) => d.id === id)?.type ?? "";
  let m = /^trust: [^/\s]+\/(\S+) takes unsigned (\w+) commands, as (\S+) chose$/.exec(reason);
  if (m !== null) {
    return tx("audit.reason.trust", {
      device: deviceName(m[1] ?? ""),
      scope: word("scope", m[2] ?? ""),
      owner: <code>{m[3]}</code>,
    });
  }
  m = /^(policy: \w+ allowed \(.*\)); unsigned: [^/\s]+\/(\S+) is trusted for (\w+) without signatures by (\S+)$/.exec(
    reason,
  );
  if (m !== null) {
    return (
      <>
        {hubReason(m[1] ?? "", devices)}
        {t("common.semicolon")}
        {tx("audit.reason.trusted", {
          device: deviceName(m[2] ?? ""),
          scope: word("scope", m[3] ?? ""),
          owner: <code>{m[4]}</code>,
        })}
      </>
    );
  }
  m = /^policy: (\w+) allowed \((?:grant (\S+)|(\w+) from (\w+))\)$/.exec(reason);
  if (m !== null) {
    const via =
      m[2] !== undefined
        ? tx("audit.via.grant", { grant: <code>{m[2]}</code> })
        : t("audit.via.role", { role: word("role", m[3] ?? ""), face: word("face", m[4] ?? "") });
    return tx("audit.reason.allowed", { scope: word("scope", m[1] ?? ""), via: <>{via}</> });
  }
  m = /^policy: (\w+) may not (\w+) from (\w+)$/.exec(reason);
  if (m !== null) {
    return t("audit.reason.policy", {
      role: word("role", m[1] ?? ""),
      scope: word("scope", m[2] ?? ""),
      face: word("face", m[3] ?? ""),
    });
  }
  m = /^no live grant (?:naming|covering) (\S+) on (\S+)$/.exec(reason);
  if (m !== null) {
    const device = m[2] ?? "";
    return t("audit.reason.grant", { target: targetLabel(typeOf(device), m[1] ?? ""), device: deviceName(device) });
  }
  m = /^unsigned: a (\w+) command needs the member's signature$/.exec(reason);
  if (m !== null) return t("audit.reason.unsigned", { scope: word("scope", m[1] ?? "") });
  return <span lang="en">{reason}</span>;
}
