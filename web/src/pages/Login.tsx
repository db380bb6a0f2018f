import { useState } from "preact/hooks";
import { ApiError, login } from "../api";
import { t } from "../i18n";
import { describe } from "../problems";

/** Why the hub refused the login, in the app's language. */
function refused(exc: unknown): string {
  if (exc instanceof ApiError && exc.status === 401) return t("login.wrong");
  if (exc instanceof ApiError && exc.status === 429) {
    const after = exc.body["retry_after"];
    return t("login.throttled", { seconds: typeof after === "number" ? Math.max(1, after) : 60 });
  }
  return describe(exc);
}

export function Login({ onDone }: { onDone: () => void }) {
  const [member, setMember] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(member.trim(), password);
      onDone();
    } catch (exc) {
      setError(refused(exc));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit}>
        <h1>{t("login.title")}</h1>
        <label>
          {t("login.member")}
          <input
            name="member"
            autocomplete="username"
            value={member}
            onInput={(e) => setMember(e.currentTarget.value)}
            required
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
        {error !== null && (
          <p class="error" role="alert">
            {t("login.failed", { reason: error })}
          </p>
        )}
      </form>
    </main>
  );
}
