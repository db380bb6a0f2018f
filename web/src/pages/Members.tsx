// The home's members and their grants, and the hash-chained audit log: an owner's view
// (others get the hub's refusal, shown with its reason). An owner adds members and gives,
// changes and withdraws a guest's grants here; the hub decides, and a refusal is shown at
// the field it names.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, session, type AuditOut, type Grant, type MemberOut } from "../api";
import { ZoneNote } from "../components/ZoneNote";
import { time } from "../format";
import { t } from "../i18n";
import { describe, hubReason, word } from "../problems";
import { targetLabel } from "../i18n/spec";
import { GrantEditor, MemberEditor } from "./MemberGrants";
import { useModel } from "../store";
import { Head } from "../components/Head";

const AUDIT_LIMIT = 100;

const reason = describe;

type Member = Omit<MemberOut, "grants"> & { grants: Grant[] };

/** Which grant editor is open: a new grant for a member, or one of theirs to change. */
type Editing = { member: string; grant: Grant | null } | null;

export function Members() {
  const model = useModel();
  const tz = model.home?.timezone;
  const deviceName = (id: string) => model.devices.find((d) => d.id === id)?.name ?? id;
  const typeOf = (id: string) => model.devices.find((d) => d.id === id)?.type ?? "";
  const [members, setMembers] = useState<Member[] | null>(null);
  const [audit, setAudit] = useState<AuditOut | null>(null);
  const [errors, setErrors] = useState<{ members?: string; audit?: string }>({});
  const [editing, setEditing] = useState<Editing>(null);
  const [rowError, setRowError] = useState<{ member: string; reason: string } | null>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    api<Member[]>("/api/members")
      .then(setMembers)
      .catch((exc: unknown) => setErrors((e) => ({ ...e, members: reason(exc) })));
    api<AuditOut>(`/api/audit?limit=${AUDIT_LIMIT}`)
      .then(setAudit)
      .catch((exc: unknown) => setErrors((e) => ({ ...e, audit: reason(exc) })));
  }, [version]);
  // Only an owner sees the editing controls; the hub refuses anyone else anyway.
  const me = members?.find((m) => m.id === session()?.member);
  const owner = me?.role === "owner";

  async function withdraw(member: string, grant: string): Promise<void> {
    setRowError(null);
    try {
      await api<unknown>(`/api/members/${encodeURIComponent(member)}/grants/${encodeURIComponent(grant)}`, {
        method: "DELETE",
      });
    } catch (exc) {
      // 204 has no JSON body: the parse fails after the hub said yes
      if (exc instanceof ApiError || !(exc instanceof SyntaxError)) {
        setRowError({ member, reason: reason(exc) });
        return;
      }
    }
    reload();
  }

  async function revokeMember(member: string): Promise<void> {
    setRowError(null);
    try {
      await api<unknown>(`/api/members/${encodeURIComponent(member)}/revoke`, { method: "POST" });
      reload();
    } catch (exc) {
      setRowError({ member, reason: reason(exc) });
    }
  }
  return (
    <main class="page members">
      <h1>{t("members.title")}</h1>
      <ZoneNote />
      <section class="card">
        {errors.members !== undefined && <p class="error">{t("common.error", { reason: errors.members })}</p>}
        {members === null && errors.members === undefined && <p>{t("common.loading")}</p>}
        {members !== null && (
          <table class="stack">
            <Head cols={["members.col.id", "members.col.name", "members.col.role", "members.col.grants", "members.col.state", ...(owner ? [null] : [])]} />
            <tbody>
              {members.map((m) => (
                <tr key={m.id} data-member={m.id}>
                  <td data-label={t("members.col.id")}>
                    <code>{m.id}</code>
                  </td>
                  <td data-label={t("members.col.name")}>{m.name}</td>
                  <td data-label={t("members.col.role")}>{word("role", m.role)}</td>
                  <td data-label={t("members.col.grants")} class={m.grants.length === 0 ? "empty" : ""}>
                    {m.grants.map((g, i) => (
                      <div key={g.id ?? i} class="grant" data-grant={g.id}>
                        <span class="grant-what" data-devices={g.devices.join(",")} data-targets={g.targets.join(",")}>
                          {g.devices.map(deviceName).join(t("common.comma"))}
                          {t("common.colon")}
                          {g.targets
                            .map((x) => (x === "*" ? t("charts.grant.any") : targetLabel(typeOf(g.devices[0] ?? ""), x)))
                            .join(t("common.comma"))}
                        </span>{" "}
                        · {t("grant.window", { from: time(g.starts, tz), to: time(g.ends, tz) })}
                        {g.uses !== null && g.uses !== undefined && (
                          <span class="muted"> · {t("charts.grant.usesOf", { used: g.used ?? 0, uses: g.uses })}</span>
                        )}
                        {owner && !m.revoked && (
                          <>
                            {" "}
                            <button type="button" class="small" onClick={() => setEditing({ member: m.id, grant: g })}>
                              {t("charts.grant.edit")}
                            </button>{" "}
                            <button type="button" class="small" onClick={() => void withdraw(m.id, g.id)}>
                              {t("charts.grant.withdraw")}
                            </button>
                          </>
                        )}
                      </div>
                    ))}
                  </td>
                  <td data-label={t("members.col.state")}>
                    {m.revoked ? t("members.revoked") : t("members.active")}
                  </td>
                  {owner && (
                    <td class="row-actions">
                      {m.role === "guest" && !m.revoked && (
                        <button type="button" onClick={() => setEditing({ member: m.id, grant: null })}>
                          {t("charts.grant.add")}
                        </button>
                      )}{" "}
                      {m.id !== me?.id && !m.revoked && (
                        <button type="button" onClick={() => void revokeMember(m.id)}>
                          {t("charts.member.revoke")}
                        </button>
                      )}
                      {rowError?.member === m.id && (
                        <p class="field-error" role="alert">
                          {rowError.reason}
                        </p>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {owner && editing !== null && (
        <GrantEditor
          key={`${editing.member}/${editing.grant?.id ?? "new"}`}
          member={editing.member}
          grant={editing.grant}
          onDone={() => {
            setEditing(null);
            reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {owner && (
        <MemberEditor
          onAdded={(id) => {
            reload();
            setEditing({ member: id, grant: null });
          }}
        />
      )}
      <h2>{t("audit.title")}</h2>
      <section class="card">
        {errors.audit !== undefined && <p class="error">{t("common.error", { reason: errors.audit })}</p>}
        {audit === null && errors.audit === undefined && <p>{t("common.loading")}</p>}
        {audit !== null && (
          <>
            <p class={audit.intact ? "ok" : "error"} data-testid="audit-chain">
              {audit.intact
                ? t("audit.intact", { checked: audit.checked })
                : t("audit.broken", { problem: audit.problem ?? "?" })}
            </p>
            <table class="audit stack">
              <Head cols={["#", "audit.col.time", "audit.col.member", "audit.col.face", "audit.col.what", "audit.col.decision", "audit.col.reason"]} />
              <tbody>
                {[...audit.entries].reverse().map((e) => (
                  <tr key={e.seq} data-decision={e.decision}>
                    <td data-label="#">{e.seq}</td>
                    <td data-label={t("audit.col.time")}>{time(e.time, tz)}</td>
                    <td data-label={t("audit.col.member")}>
                      <code>{e.member}</code>
                    </td>
                    <td data-label={t("audit.col.face")}>{word("face", e.face)}</td>
                    <td data-label={t("audit.col.what")}>
                      {/^trust_unsigned:/.test(e.target) ? (
                        <>
                          {e.device === "-" ? "" : `${deviceName(e.device)} · `}
                          {t("audit.what.trust", { scope: word("scope", e.target.slice("trust_unsigned:".length)) })}
                        </>
                      ) : e.device === "-" ? (
                        word("scope", e.target)
                      ) : (
                        <>
                          {deviceName(e.device)} · {targetLabel(typeOf(e.device), e.target)}
                        </>
                      )}
                    </td>
                    <td class={e.decision === "allowed" ? "ok" : "error"} data-label={t("audit.col.decision")}>
                      {word("decision", e.decision)}
                    </td>
                    <td class="muted" data-label={t("audit.col.reason")}>
                      {hubReason(e.reason, model.devices)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </main>
  );
}
