// "This browser's key": make the key this browser signs doors, locks, the garage and
// charging with (non-extractable, kept in IndexedDB), enroll it on a device with the code
// the device shows, list a device's keys and remove this browser's. The hub only relays;
// the device checks the code, the owner's approval and every command signed here.
// On a device with keys already, a refused `no_approval` becomes a request left at the hub
// for an owner's approval from another client; an owner enrolled here sees the waiting
// requests and approves them with this browser's key (docs/signing.md, "Approval from
// another client").
import { useEffect, useState } from "preact/hooks";
import { ApiError, session, type PendingOut } from "../api";
import { t, tx } from "../i18n";
import { describe } from "../problems";
import { fromBase64, toHex } from "../signing/bytes";
import { keyId } from "../signing/crypto";
import {
  approvePending,
  ask,
  begin,
  codeFromHub,
  declinePending,
  enroll,
  keys,
  outcome,
  pending,
  pendingKeyId,
  revoke,
  type KeyView,
} from "../signing/hub";
import { SessionRefused, type Challenge, type Role } from "../signing/protocol";
import { browserKey, createBrowserKey, pinned } from "../signing/ring";
import { useModel } from "../store";
import { Head } from "../components/Head";

const ROLES: Role[] = ["owner", "family", "guest"];
/** How often an owner's page looks for new requests waiting for approval. */
const REQUESTS_EVERY_MS = 5000;

function reason(exc: unknown): string {
  if (exc instanceof SessionRefused) return `${exc.reason}: ${exc.message}`;
  return describe(exc);
}

function initialDevice(): string {
  return new URLSearchParams(location.search).get("device") ?? "";
}

export function Keys() {
  const model = useModel();
  const signing = model.devices.filter((d) => (model.specs[d.id]?.actions ?? []).some((a) => a.domain !== null));
  const [id, setId] = useState<string | null | undefined>(undefined);
  const [device, setDevice] = useState(initialDevice());
  const chosen = signing.find((d) => d.id === device) ?? signing[0];
  const home = chosen?.home ?? "";
  const [enrolled, setEnrolled] = useState<boolean | null>(null);
  const [listed, setListed] = useState<KeyView[] | null>(null);
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [code, setCode] = useState("");
  const [member, setMember] = useState(session()?.member ?? "");
  const [role, setRole] = useState<Role>("owner");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [version, setVersion] = useState(0);
  const [waiting, setWaiting] = useState<PendingOut | null>(null);
  const [requests, setRequests] = useState<PendingOut[] | null>(null);

  useEffect(() => {
    if (!window.isSecureContext || typeof indexedDB === "undefined") {
      setId(null);
      return;
    }
    void browserKey()
      .then(async (key) => setId(key === null ? null : toHex(await keyId(key.point))))
      .catch((exc: unknown) => setMessage({ ok: false, text: reason(exc) }));
  }, []);

  useEffect(() => {
    if (chosen === undefined) return;
    setListed(null);
    setChallenge(null);
    setCode("");
    void pinned(chosen.home, chosen.id).then((p) => setEnrolled(p !== null && id !== null));
    keys(chosen.home, chosen.id)
      .then(setListed)
      .catch((exc: unknown) => {
        setListed([]);
        setMessage({ ok: false, text: reason(exc) });
      });
  }, [chosen?.id, id, version]);

  useEffect(() => {
    if (chosen === undefined || enrolled !== true) {
      setRequests(null);
      return;
    }
    let stopped = false;
    const look = () =>
      pending(chosen.home, chosen.id)
        .then((found) => {
          if (!stopped) setRequests(found);
        })
        .catch(() => {
          // not an owner (403) or the hub is away: no requests to show, and stop asking
          stopped = true;
          setRequests(null);
        });
    void look();
    const timer = setInterval(() => {
      if (!stopped) void look();
    }, REQUESTS_EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [chosen?.id, enrolled, version]);

  async function awaitApproval(asked: PendingOut, deviceName: string): Promise<void> {
    setWaiting(asked);
    try {
      const settled = await outcome(asked);
      if (settled.status === "enrolled") {
        setMessage({ ok: true, text: t("sign.enrolled", { device: deviceName }) });
        setVersion((v) => v + 1);
      } else {
        const why =
          settled.status === "declined"
            ? t("sign.approval.wasDeclined", { by: settled.decided_by })
            : settled.status === "expired"
              ? t("sign.approval.expired")
              : t("sign.refused", { reason: settled.reason || settled.status });
        setMessage({ ok: false, text: why });
      }
    } catch (exc) {
      setMessage({ ok: false, text: t("sign.refused", { reason: reason(exc) }) });
    } finally {
      setWaiting(null);
    }
  }

  async function act(work: () => Promise<string | void>): Promise<void> {
    setBusy(true);
    setMessage(null);
    try {
      const done = await work();
      if (typeof done === "string") setMessage({ ok: true, text: done });
    } catch (exc) {
      setMessage({ ok: false, text: t("sign.refused", { reason: reason(exc) }) });
    } finally {
      setBusy(false);
    }
  }

  if (!window.isSecureContext) {
    return (
      <main class="page keys">
        <h1>{t("sign.title")}</h1>
        <p class="error">{t("sign.insecure")}</p>
      </main>
    );
  }
  const name = chosen?.name ?? "";
  return (
    <main class="page keys">
      <h1>{t("sign.title")}</h1>
      <p class="muted">{t("sign.intro")}</p>
      <section class="card" data-testid="sign-key">
        {id === undefined && <p>{t("common.loading")}</p>}
        {id === null && (
          <>
            <p>{t("sign.none")}</p>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  const key = await createBrowserKey();
                  setId(toHex(await keyId(key.point)));
                  return t("sign.created");
                })
              }
            >
              {t("sign.create")}
            </button>
          </>
        )}
        {typeof id === "string" && (
          <p>
            {t("sign.keyId")}: <code data-testid="sign-key-id">{id}</code>
            <br />
            <span class="muted">{t("sign.private")}</span>
          </p>
        )}
      </section>

      {typeof id === "string" && chosen !== undefined && (
        <section class="card" data-testid="sign-device" data-device={chosen.id}>
          <label>
            {t("sign.device")}{" "}
            <select value={chosen.id} onChange={(e) => setDevice((e.target as HTMLSelectElement).value)}>
              {signing.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
          <p data-testid="sign-state" data-enrolled={enrolled === true ? "yes" : "no"}>
            {enrolled === true ? t("sign.enrolledHere", { device: name }) : t("sign.notEnrolled", { device: name })}
          </p>
          {waiting !== null && (
            <p data-testid="sign-waiting" data-request={waiting.id}>
              {tx("sign.approval.waiting", {
                id: <code>{waiting.id}</code>,
                key: <code>{pendingKeyId(waiting).slice(0, 12)}</code>,
              })}{" "}
              {t("keys.cliHint")} <code>{`carhome keys approve ${chosen.id} ${waiting.id}`}</code>
            </p>
          )}
          {enrolled === true && requests !== null && requests.length > 0 && (
            <div data-testid="sign-requests">
              <h2>{t("sign.approval.requests")}</h2>
              <table class="stack">
                <Head cols={["sign.col.member", "sign.col.role", "sign.col.id", "sign.approval.askedBy", null]} />
                <tbody>
                  {requests.map((r) => (
                    <tr key={r.id} data-request={r.id}>
                      <td data-label={t("sign.col.member")}>
                        <code>{r.member}</code>
                      </td>
                      <td data-label={t("sign.col.role")}>
                        {ROLES.includes(r.role) ? t(`sign.role.${r.role}`) : r.role}
                      </td>
                      <td data-label={t("sign.col.id")}>
                        <code>{pendingKeyId(r).slice(0, 16)}</code>
                      </td>
                      <td data-label={t("sign.approval.askedBy")}>
                        <code>{r.asked_by}</code>
                      </td>
                      <td class="row-actions">
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() =>
                            void act(async () => {
                              const done = await approvePending(r);
                              setVersion((v) => v + 1);
                              return t("sign.approval.approved", { member: done.member, device: name });
                            })
                          }
                        >
                          {t("sign.approval.approve")}
                        </button>{" "}
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() =>
                            void act(async () => {
                              await declinePending(r);
                              setVersion((v) => v + 1);
                              return t("sign.approval.declined", { member: r.member });
                            })
                          }
                        >
                          {t("sign.approval.decline")}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {enrolled !== true && challenge === null && waiting === null && (
            <div class="row">
              <label>
                {t("sign.member")} <input value={member} onInput={(e) => setMember((e.target as HTMLInputElement).value)} />
              </label>{" "}
              <label>
                {t("sign.role")}{" "}
                <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {t(`sign.role.${r}`)}
                    </option>
                  ))}
                </select>
              </label>{" "}
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    setChallenge(await begin(home, chosen.id));
                    return t("sign.begun", { device: name });
                  })
                }
              >
                {t("sign.begin")}
              </button>
            </div>
          )}
          {enrolled !== true && challenge !== null && (
            <div class="row">
              <label>
                {t("sign.code")}{" "}
                <input
                  inputMode="numeric"
                  autocomplete="one-time-code"
                  value={code}
                  onInput={(e) => setCode((e.target as HTMLInputElement).value.trim())}
                />
              </label>{" "}
              <button
                type="button"
                disabled={busy}
                onClick={() => void act(async () => setCode(await codeFromHub(home, chosen.id)))}
              >
                {t("sign.codeFromHub")}
              </button>{" "}
              <button
                type="button"
                disabled={busy || code === ""}
                onClick={() =>
                  void act(async () => {
                    try {
                      await enroll(challenge, { code, role, member });
                    } catch (exc) {
                      if (!(exc instanceof ApiError && exc.reason === "no_approval")) throw exc;
                      // the device holds keys: leave the request for an owner on another client
                      const asked = await ask(challenge, { code, role, member });
                      setChallenge(null);
                      void awaitApproval(asked, name);
                      return t("sign.approval.asked");
                    }
                    setChallenge(null);
                    setVersion((v) => v + 1);
                    return t("sign.enrolled", { device: name });
                  })
                }
              >
                {t("sign.enroll")}
              </button>
              <p class="muted">{t("sign.codeHint")}</p>
            </div>
          )}
          <h2>{t("sign.keysOn", { device: name })}</h2>
          {listed === null ? (
            <p>{t("common.loading")}</p>
          ) : listed.length === 0 ? (
            <p>{t("sign.noKeys")}</p>
          ) : (
            <table class="stack">
              <Head cols={["sign.col.id", "sign.col.member", "sign.col.role", "sign.col.state", null]} />
              <tbody>
                {listed.map((k) => (
                  <tr key={k.id} data-key={k.id} data-mine={k.mine ? "yes" : "no"}>
                    <td data-label={t("sign.col.id")}>
                      <code>{k.id.slice(0, 16)}</code> {k.mine && <strong>{t("sign.mine")}</strong>}
                    </td>
                    <td data-label={t("sign.col.member")}>
                      <code>{k.member}</code>
                    </td>
                    <td data-label={t("sign.col.role")}>
                      {ROLES.includes(k.role) ? t(`sign.role.${k.role}`) : k.role}
                    </td>
                    <td data-label={t("sign.col.state")}>{k.enabled ? t("sign.enabled") : t("sign.disabled")}</td>
                    <td class={k.mine && k.enabled ? "row-actions" : "row-actions empty"}>
                      {k.mine && k.enabled && (
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() =>
                            void act(async () => {
                              await revoke(home, chosen.id, fromBase64(k.point));
                              setVersion((v) => v + 1);
                              return t("sign.removed", { device: name });
                            })
                          }
                        >
                          {t("sign.remove")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      {message !== null && (
        <p class={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"} data-testid="sign-message">
          {message.text}
        </p>
      )}
    </main>
  );
}
