// The automations the hub runs, each run's trace, an enable switch for each, and a YAML
// editor checked by the hub (POST /api/automations/check) as you type, with its errors by
// line, that creates, saves and deletes automations (POST, PUT, DELETE /api/automations);
// a refused save marks the lines the hub named until the text checks clean.
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type AutomationDetail, type AutomationOut, type CheckError, type Trace } from "../api";
import { ZoneNote } from "../components/ZoneNote";
import { time } from "../format";
import { t, tx, type MessageKey } from "../i18n";
import { en } from "../i18n/en";
import { describe } from "../problems";
import { useModel } from "../store";
import { Head } from "../components/Head";

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

/** A word carhome sends as data (a mode, a run's status, a step's kind) from the catalog,
 * or the word itself in code when the catalog does not have it. */
function word(prefix: string, value: string) {
  const key = `${prefix}.${value}`;
  return key in en ? t(key as MessageKey) : <code>{value}</code>;
}

function Traces({ id }: { id: string }) {
  const [traces, setTraces] = useState<Trace[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ traces: Trace[] }>(`/api/automations/${encodeURIComponent(id)}/traces`)
      .then((r) => setTraces(r.traces))
      .catch((exc: unknown) => setError(describe(exc)));
  }, [id]);
  if (error !== null) return <p class="error">{t("common.error", { reason: error })}</p>;
  if (traces === null) return <p>{t("common.loading")}</p>;
  if (traces.length === 0) return <p class="muted">{t("auto.traces.none")}</p>;
  return (
    <ol class="traces">
      {[...traces].reverse().map((tr) => (
        <li key={tr.run} data-status={tr.status}>
          <strong>#{tr.run}</strong> {time(tr.started)} · {word("run", tr.status)}
          {tr.reason ? <span lang="en"> · {tr.reason}</span> : ""}
          <ul>
            {tr.steps.map((s) => (
              <li key={s.path} class={s.status === "failed" ? "error" : ""}>
                <code>{s.path}</code> {word("step", s.kind)}
                {t("common.colon")}
                {s.error !== null ? <span lang="en">{s.error}</span> : word("run", s.status)}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

/** One reason a save was refused (the 422 problem's `errors`). */
interface SavingError {
  line: number | null;
  path: string | null;
  message: string;
}

interface Notice {
  ok: boolean;
  text: string;
}

function savingErrors(exc: unknown): SavingError[] | null {
  if (!(exc instanceof ApiError) || exc.status !== 422) return null;
  const errors = exc.body["errors"];
  return Array.isArray(errors) ? (errors as SavingError[]) : null;
}

function YamlEditor({
  home,
  detail,
  notice,
  onSaved,
  onDeleted,
}: {
  home: string;
  detail: AutomationDetail | null;
  notice: Notice | null;
  onSaved: (saved: AutomationDetail) => void;
  onDeleted: (id: string, restored: AutomationDetail | null) => void;
}) {
  const [text, setText] = useState(() => detail?.text ?? example(home));
  const [errors, setErrors] = useState<CheckError[] | null>(null);
  const [checking, setChecking] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [refused, setRefused] = useState<SavingError[] | null>(null);
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const gutter = useRef<HTMLPreElement>(null);
  const asked = useRef(0);

  const check = async (yaml: string) => {
    const mine = ++asked.current;
    setChecking(true);
    try {
      const result = await api<{ errors: CheckError[] }>("/api/automations/check", {
        method: "POST",
        body: { text: yaml, file: FILE, replace: detail?.id ?? null },
      });
      if (mine === asked.current) {
        setErrors(result.errors);
        setFailure(null);
        // The text the hub refused to save is fixed once it checks clean.
        if (result.errors.length === 0) setRefused(null);
      }
    } catch (exc) {
      if (mine === asked.current) setFailure(describe(exc));
    } finally {
      if (mine === asked.current) setChecking(false);
    }
  };

  useEffect(() => {
    const timer = setTimeout(() => void check(text), CHECK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const save = async () => {
    setSaving(true);
    setProblem(null);
    try {
      const saved = await api<AutomationDetail>(
        detail === null ? "/api/automations" : `/api/automations/${encodeURIComponent(detail.id)}`,
        { method: detail === null ? "POST" : "PUT", body: { text } },
      );
      setRefused(null);
      onSaved(saved);
    } catch (exc) {
      const found = savingErrors(exc);
      if (found !== null) setRefused(found);
      else setProblem(exc instanceof ApiError ? exc.detail : describe(exc));
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (detail === null) return;
    setProblem(null);
    try {
      const done = await api<{ deleted: string; restored: AutomationDetail | null }>(
        `/api/automations/${encodeURIComponent(detail.id)}`,
        { method: "DELETE" },
      );
      onDeleted(done.deleted, done.restored);
    } catch (exc) {
      setProblem(exc instanceof ApiError ? exc.detail : describe(exc));
    }
  };

  const why = new Map<number, string[]>();
  for (const e of [...(errors ?? []), ...(refused ?? [])]) {
    if (e.line !== null) why.set(e.line, [...(why.get(e.line) ?? []), e.message]);
  }
  const lines = text.split("\n").length;
  return (
    <section class="card" data-testid="automation-editor">
      <h2>{t("auto.editor")}</h2>
      <p class="muted" data-testid="editor-mode">
        {detail === null
          ? t("autoedit.creating")
          : tx("autoedit.editing", { id: <code>{detail.id}</code>, file: <code>{detail.file}</code> })}
        {" · "}
        {t("auto.editor.hint")}
      </p>
      {detail !== null && detail.origin !== "saved" && (
        <p class="muted">{tx("autoedit.readonly", { file: <code>{detail.file}</code> })}</p>
      )}
      <div class="editor">
        <pre class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <span key={i} class={why.has(i + 1) ? "bad" : ""} title={why.get(i + 1)?.join("\n")}>
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
      <p class="actions">
        <button type="button" onClick={() => void check(text)}>
          {t("auto.check")}
        </button>
        <button type="button" class="primary" disabled={saving} onClick={() => void save()}>
          {saving ? t("autoedit.saving") : t("autoedit.save")}
        </button>
        {detail?.origin === "saved" && (
          <button type="button" onClick={() => void remove()}>
            {detail.overrides !== null
              ? t("autoedit.delete.override", { file: detail.overrides })
              : t("autoedit.delete")}
          </button>
        )}
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
      {refused !== null && (
        <div data-testid="save-errors">
          <p class="error">{t("autoedit.refused", { count: refused.length })}</p>
          <ul class="check-errors">
            {refused.map((e, i) => (
              <li key={i} class="error" data-line={e.line ?? ""}>
                <code>{e.line === null ? FILE : t("autoedit.error.at", { line: e.line })}</code>{" "}
                {e.path !== null ? `${e.path}: ` : ""}
                {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {problem !== null && <p class="error">{t("common.error", { reason: problem })}</p>}
      {notice !== null && (
        <p class={notice.ok ? "ok" : "error"} data-testid="save-result" aria-live="polite">
          {notice.text}
        </p>
      )}
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

function EnableSwitch({ automation, onSwitched }: { automation: AutomationOut; onSwitched: (a: AutomationOut) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const on = automation.enabled;
  return (
    <>
      <button
        type="button"
        role="switch"
        aria-checked={on}
        aria-label={`${t("autoedit.col.enabled")} ${automation.id}`}
        class={`switch ${on ? "on" : ""}`}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const id = encodeURIComponent(automation.id);
            onSwitched(await api<AutomationOut>(`/api/automations/${id}/${on ? "disable" : "enable"}`, { method: "POST" }));
          } catch (exc) {
            setError(t("autoedit.switch.failed", { id: automation.id, reason: describe(exc) }));
          } finally {
            setBusy(false);
          }
        }}
      >
        <span class="knob" />
        <span class="switch-text">{on ? t("common.on") : t("common.off")}</span>
      </button>
      {error !== null && <p class="error">{error}</p>}
    </>
  );
}

export function Automations() {
  const model = useModel();
  const [list, setList] = useState<AutomationOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [detail, setDetail] = useState<AutomationDetail | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [version, setVersion] = useState(0);

  const reload = () =>
    api<AutomationOut[]>("/api/automations")
      .then(setList)
      .catch((exc: unknown) => setError(describe(exc)));
  useEffect(() => {
    void reload();
  }, []);

  const edit = async (id: string) => {
    try {
      setDetail(await api<AutomationDetail>(`/api/automations/${encodeURIComponent(id)}`));
      setNotice(null);
      setVersion((v) => v + 1);
    } catch (exc) {
      setError(describe(exc));
    }
  };
  const switched = (a: AutomationOut) => {
    setList((old) => old?.map((x) => (x.id === a.id ? { ...x, enabled: a.enabled } : x)) ?? null);
    setDetail((d) => (d !== null && d.id === a.id ? { ...d, enabled: a.enabled } : d));
  };

  return (
    <main class="page automations">
      <h1>{t("auto.title")}</h1>
      <ZoneNote />
      {error !== null && <p class="error">{t("common.error", { reason: error })}</p>}
      {list === null && error === null && <p>{t("common.loading")}</p>}
      {list !== null && (
        <section class="card">
          <table class="stack">
            <Head cols={["auto.col.id", "auto.col.alias", "auto.col.mode", "autoedit.col.enabled", "auto.col.runs", "auto.col.source", null]} />
            <tbody>
              {list.map((a) => (
                <Fragment key={a.id}>
                  <tr data-automation={a.id} data-enabled={String(a.enabled)}>
                    <td data-label={t("auto.col.id")}>
                      <code>{a.id}</code>
                    </td>
                    <td data-label={t("auto.col.alias")}>{a.alias}</td>
                    <td data-label={t("auto.col.mode")}>
                      {word("automode", a.mode)} · {a.enabled ? t("auto.enabled") : t("auto.disabled")}
                    </td>
                    <td data-label={t("autoedit.col.enabled")}>
                      <EnableSwitch automation={a} onSwitched={switched} />
                    </td>
                    <td data-label={t("auto.col.runs")}>{a.firings}</td>
                    <td class="muted" title={a.file} data-label={t("auto.col.source")}>
                      <code>
                        {a.file.split("/").pop()}:{a.line ?? "?"}
                      </code>
                    </td>
                    <td class="actions row-actions">
                      <button type="button" onClick={() => void edit(a.id)}>
                        {t("autoedit.edit")}
                      </button>
                      <button type="button" onClick={() => setOpen(open === a.id ? null : a.id)}>
                        {t("auto.traces")}
                      </button>
                    </td>
                  </tr>
                  {open === a.id && (
                    <tr class="detail">
                      <td colSpan={7}>
                        <Traces id={a.id} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
          <p>
            <button
              type="button"
              onClick={() => {
                setDetail(null);
                setNotice(null);
                setVersion((v) => v + 1);
              }}
            >
              {t("autoedit.new")}
            </button>
          </p>
        </section>
      )}
      <YamlEditor
        key={`${detail?.id ?? "new"}:${version}`}
        home={model.home?.id ?? "home"}
        detail={detail}
        notice={notice}
        onSaved={(saved) => {
          setDetail(saved);
          setNotice({ ok: true, text: t("autoedit.saved", { id: saved.id, file: saved.file }) });
          void reload();
        }}
        onDeleted={(id, restored) => {
          setDetail(restored);
          setNotice({
            ok: true,
            text:
              restored === null
                ? t("autoedit.deleted", { id })
                : t("autoedit.restored", { id, file: restored.file }),
          });
          setVersion((v) => v + 1);
          void reload();
        }}
      />
    </main>
  );
}
