import { useState } from "preact/hooks";
import { ApiError, login } from "../api";
import { Failure, Field } from "../components/Field";
import { t } from "../i18n";
import { describe } from "../problems";
import { throttled, useSubmit } from "../submit";

/** Why the hub refused the login, in the app's language. */
function refused(exc: unknown): string {
  if (exc instanceof ApiError && exc.status === 401) return t("login.wrong");
  return throttled(exc) ?? describe(exc);
}

export function Login({ onDone }: { onDone: () => void }) {
  const [member, setMember] = useState("");
  const [password, setPassword] = useState("");
  const { busy, problem: error, run } = useSubmit(refused);
  const submit = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      await login(member.trim(), password);
      onDone();
    });
  };
  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit}>
        <h1>{t("login.title")}</h1>
        <Field label="login.member" name="member" value={member} onInput={setMember} autocomplete="username" required />
        <Field label="login.password" name="password" type="password" value={password} onInput={setPassword} autocomplete="current-password" required />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
        <Failure error={error === null ? null : t("login.failed", { reason: error })} />
      </form>
    </main>
  );
}
