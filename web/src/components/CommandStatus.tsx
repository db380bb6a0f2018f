// A command's lifecycle as steps: queued → sent → acked, or where it stopped and why.
import { t, tx } from "../i18n";
import { hubReason } from "../problems";
import { Link } from "../router";
import { useModel, type Tracked } from "../store";

const STEPS = ["queued", "sent", "acked"] as const;

/** What to do when this browser's key would let the command through: enroll it there. */
function EnrollHint({ device }: { device: string }) {
  const model = useModel();
  const name = model.devices.find((d) => d.id === device)?.name ?? device;
  return (
    <Link to={`/keys?device=${encodeURIComponent(device)}`} class="reason enroll-hint">
      {t("sign.enrollFirst", { device: name })}
    </Link>
  );
}

export function CommandStatus({ entry }: { entry: Tracked }) {
  const model = useModel();
  const { command, problem } = entry;
  if (problem !== null) {
    const word = problem.status === 403 ? t("cmd.denied") : t("cmd.rejected");
    return (
      <span class="cmd" data-status="denied" role="status">
        <span class="step bad">{word}</span>
        <span class="reason">{tx("cmd.reason", { reason: hubReason(problem.reason, model.devices) })}</span>
        {problem.enroll !== undefined && <EnrollHint device={problem.enroll} />}
      </span>
    );
  }
  const status = command?.status ?? "queued";
  const reached = status === "acked" ? 3 : status === "sent" ? 2 : command === null ? 0 : 1;
  const ended = status === "failed" || status === "expired";
  return (
    <span class="cmd" data-status={command === null ? "sending" : status} role="status">
      {STEPS.map((step, i) =>
        ended && i === 2 ? null : (
          <span key={step} class={`step ${i < reached || (ended && i < 2) ? "done" : ""}`}>
            {t(`cmd.${step}`)}
          </span>
        ),
      )}
      {ended && <span class="step bad">{t(`cmd.${status}`)}</span>}
      {ended && command?.error && (
        <span class="reason">{t("cmd.reason", { reason: command.error })}</span>
      )}
    </span>
  );
}
