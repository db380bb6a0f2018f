// The home's members and their grants, and the hash-chained audit log: an owner's view
// (others get the hub's refusal, shown with its reason).
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type AuditOut, type MemberOut } from "../api";
import { time } from "../format";
import { t } from "../i18n";
import { useModel } from "../store";

const AUDIT_LIMIT = 100;

function reason(exc: unknown): string {
  return exc instanceof ApiError ? exc.reason : String(exc);
}

export function Members() {
  const model = useModel();
  const tz = model.home?.timezone;
  const [members, setMembers] = useState<MemberOut[] | null>(null);
  const [audit, setAudit] = useState<AuditOut | null>(null);
  const [errors, setErrors] = useState<{ members?: string; audit?: string }>({});
  useEffect(() => {
    api<MemberOut[]>("/api/members")
      .then(setMembers)
      .catch((exc: unknown) => setErrors((e) => ({ ...e, members: reason(exc) })));
    api<AuditOut>(`/api/audit?limit=${AUDIT_LIMIT}`)
      .then(setAudit)
      .catch((exc: unknown) => setErrors((e) => ({ ...e, audit: reason(exc) })));
  }, []);
  return (
    <main class="page members">
      <h1>{t("members.title")}</h1>
      <section class="card">
        {errors.members !== undefined && <p class="error">{t("common.error", { reason: errors.members })}</p>}
        {members === null && errors.members === undefined && <p>{t("common.loading")}</p>}
        {members !== null && (
          <table>
            <thead>
              <tr>
                <th>{t("members.col.id")}</th>
                <th>{t("members.col.name")}</th>
                <th>{t("members.col.role")}</th>
                <th>{t("members.col.grants")}</th>
                <th>{t("members.col.state")}</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.id} data-member={m.id}>
                  <td>
                    <code>{m.id}</code>
                  </td>
                  <td>{m.name}</td>
                  <td>{m.role}</td>
                  <td>
                    {m.grants.map((g, i) => (
                      <div key={i}>
                        {g.devices.join(", ")}: {g.targets.join(", ")} · {time(g.starts, tz)} – {time(g.ends, tz)}
                      </div>
                    ))}
                  </td>
                  <td>{m.revoked ? t("members.revoked") : t("members.active")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
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
            <table class="audit">
              <thead>
                <tr>
                  <th>#</th>
                  <th>{t("audit.col.time")}</th>
                  <th>{t("audit.col.member")}</th>
                  <th>{t("audit.col.face")}</th>
                  <th>{t("audit.col.what")}</th>
                  <th>{t("audit.col.decision")}</th>
                  <th>{t("audit.col.reason")}</th>
                </tr>
              </thead>
              <tbody>
                {[...audit.entries].reverse().map((e) => (
                  <tr key={e.seq} data-decision={e.decision}>
                    <td>{e.seq}</td>
                    <td>{time(e.time, tz)}</td>
                    <td>{e.member}</td>
                    <td>{e.face}</td>
                    <td>
                      <code>
                        {e.device === "-" ? e.target : `${e.device} ${e.target}`}
                      </code>
                    </td>
                    <td class={e.decision === "allowed" ? "ok" : "error"}>{e.decision}</td>
                    <td class="muted">{e.reason}</td>
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
