// The automations the hub runs, each run's trace, and a YAML editor checked by the hub
// (POST /api/automations/check) as you type, with its errors by file and line.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type AutomationOut, type CheckError } from "../api";
import { time } from "../format";
import { t } from "../i18n";
import { useModel } from "../store";

interface StepTrace {
  path: string;
  kind: string;
  status: string;
  error: string | null;
}

interface Trace {
  run: number;
  started: number;
  status: string;
  reason: string | null;
  trigger: { kind?: string; description?: string } | null;
  steps: StepTrace[];
}

const CHECK_DELAY_MS = 400;
const FILE = "editor.yaml";

function example(home: string): string {
  return `home: ${home}
automations:
  - id: evening_light
    alias: Light on when the car comes home
    member: owner
    triggers:
      - {trigger: place, device: car, event: enter, place: home}
    actions:
      - {action: command, device: living_room_light, name: turn_on}
`;
}

function Traces({ id }: { id: string }) {
  const [traces, setTraces] = useState<Trace[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ traces: Trace[] }>(`/api/automations/${encodeURIComponent(id)}/traces`)
      .then((r) => setTraces(r.traces))
      .catch((exc: unknown) => setError(String(exc)));
  }, [id]);
  if (error !== null) return <p class="error">{t("common.error", { reason: error })}</p>;
  if (traces === null) return <p>{t("common.loading")}</p>;
  if (traces.length === 0) return <p class="muted">{t("auto.traces.none")}</p>;
  return (
    <ol class="traces">
      {[...traces].reverse().map((tr) => (
        <li key={tr.run} data-status={tr.status}>
          <strong>#{tr.run}</strong> {time(tr.started)} · {tr.status}
          {tr.reason ? ` · ${tr.reason}` : ""}
          <ul>
            {tr.steps.map((s) => (
              <li key={s.path} class={s.status === "failed" ? "error" : ""}>
                {t("auto.trace.step", { path: `${s.path} ${s.kind}`, result: s.error ?? s.status })}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

function YamlEditor({ home }: { home: string }) {
  const [text, setText] = useState(() => example(home));
  const [errors, setErrors] = useState<CheckError[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const gutter = useRef<HTMLPreElement>(null);
  const asked = useRef(0);

  const check = async (yaml: string) => {
    const mine = ++asked.current;
    setChecking(true);
    try {
      const result = await api<{ errors: CheckError[] }>("/api/automations/check", {
        method: "POST",
        body: { text: yaml, file: FILE },
      });
      if (mine === asked.current) {
        setErrors(result.errors);
        setFailure(null);
      }
    } catch (exc) {
      if (mine === asked.current) setFailure(String(exc));
    } finally {
      if (mine === asked.current) setChecking(false);
    }
  };

  useEffect(() => {
    const timer = setTimeout(() => void check(text), CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const bad = new Set((errors ?? []).map((e) => e.line));
  const lines = text.split("\n").length;
  return (
    <section class="card">
      <h2>{t("auto.editor")}</h2>
      <p class="muted">{t("auto.editor.hint")}</p>
      <div class="editor">
        <pre class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <span key={i} class={bad.has(i + 1) ? "bad" : ""}>
              {i + 1}
              {"\n"}
            </span>
          ))}
        </pre>
        <textarea
          aria-label={t("auto.editor")}
          spellcheck={false}
          value={text}
          rows={Math.max(12, lines + 1)}
          onInput={(e) => setText(e.currentTarget.value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}
        />
      </div>
      <p>
        <button type="button" onClick={() => void check(text)}>
          {t("auto.check")}
        </button>{" "}
        <span class="check-result" data-testid="check-result" aria-live="polite">
          {checking
            ? t("auto.checking")
            : failure !== null
              ? t("common.error", { reason: failure })
              : errors === null
                ? ""
                : errors.length === 0
                  ? t("auto.valid")
                  : t("auto.errors", { count: errors.length })}
        </span>
      </p>
      {errors !== null && errors.length > 0 && (
        <ul class="check-errors" data-testid="check-errors">
          {errors.map((e, i) => (
            <li key={i} class="error">
              <code>
                {e.file ?? FILE}:{e.line ?? "?"}
              </code>{" "}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Automations() {
  const model = useModel();
  const [list, setList] = useState<AutomationOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    api<AutomationOut[]>("/api/automations")
      .then(setList)
      .catch((exc: unknown) => setError(String(exc)));
  }, []);
  return (
    <main class="page automations">
      <h1>{t("auto.title")}</h1>
      {error !== null && <p class="error">{t("common.error", { reason: error })}</p>}
      {list === null && error === null && <p>{t("common.loading")}</p>}
      {list !== null && (
        <section class="card">
          <table>
            <thead>
              <tr>
                <th>{t("auto.col.id")}</th>
                <th>{t("auto.col.alias")}</th>
                <th>{t("auto.col.mode")}</th>
                <th>{t("auto.col.runs")}</th>
                <th>{t("auto.col.source")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <Fragment key={a.id}>
                  <tr data-automation={a.id}>
                    <td>
                      <code>{a.id}</code>
                    </td>
                    <td>{a.alias}</td>
                    <td>
                      {a.mode} · {a.enabled ? t("auto.enabled") : t("auto.disabled")}
                    </td>
                    <td>{a.firings}</td>
                    <td class="muted" title={a.file}>
                      {a.file.split("/").pop()}:{a.line ?? "?"}
                    </td>
                    <td>
                      <button type="button" onClick={() => setOpen(open === a.id ? null : a.id)}>
                        {t("auto.traces")}
                      </button>
                    </td>
                  </tr>
                  {open === a.id && (
                    <tr>
                      <td colSpan={6}>
                        <Traces id={a.id} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <YamlEditor home={model.home?.id ?? "home"} />
    </main>
  );
}
