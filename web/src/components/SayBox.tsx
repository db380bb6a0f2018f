// The cabin's say box: a request in words (typed, or spoken where the browser offers
// SpeechRecognition), sent to POST /api/say as the logged-in driver. The hub answers in the
// request's language; a command it sent is then followed (long poll) to its ack or failure.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Command, type SayResult } from "../api";
import { lang, t } from "../i18n";
import { describe } from "../problems";
import { send, track, useModel } from "../store";
import { CommandStatus } from "./CommandStatus";

// The Web Speech API is not in TypeScript's DOM types; only what is used here.
interface Recognition {
  lang: string;
  interimResults: boolean;
  onresult: ((event: { results: ArrayLike<ArrayLike<{ transcript: string }>> }) => void) | null;
  onend: (() => void) | null;
  start(): void;
}
type RecognitionClass = new () => Recognition;

function recognitionClass(): RecognitionClass | null {
  const w = window as unknown as { SpeechRecognition?: RecognitionClass; webkitSpeechRecognition?: RecognitionClass };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition ?? null;
}

/** `here`: the device the box is in (the cabin's car): of several devices that fit, that one. */
export function SayBox({ here }: { here?: string } = {}) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [listening, setListening] = useState(false);
  const [result, setResult] = useState<SayResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  // the tracked command this answer follows, and whether this browser signed it
  const [followed, setFollowed] = useState<{ key: number; signed: boolean } | null>(null);
  const asked = useRef(0);
  const model = useModel();
  const Speech = recognitionClass();

  useEffect(() => () => void (asked.current += 1), []); // no answer lands after unmount

  async function submit(event: Event) {
    event.preventDefault();
    const words = text.trim();
    if (words === "" || busy) return;
    const turn = ++asked.current;
    setBusy(true);
    setError(null);
    setResult(null);
    setFollowed(null);
    try {
      const answer = await api<SayResult>("/api/say", { method: "POST", body: here === undefined ? { text: words } : { text: words, here } });
      if (asked.current !== turn) return;
      setResult(answer);
      if (answer.sign !== null) {
        // the hub may not sign; this browser does, through the app's one send path, when its
        // key is enrolled on the device (else that path says where to enroll it)
        const p = answer.sign;
        const tracked = await send(p.device, p.kind, p.target, p.args);
        if (asked.current === turn) setFollowed({ key: tracked.key, signed: true });
        return;
      }
      const id = answer.commands[0];
      if (id !== undefined) {
        const tracked = track(await api<Command>(`/api/commands/${encodeURIComponent(id)}`));
        if (asked.current === turn) setFollowed({ key: tracked.key, signed: false });
      }
    } catch (exc) {
      setError(t("say.failed", { reason: describe(exc) }));
    } finally {
      setBusy(false);
    }
  }

  function listen() {
    if (Speech === null || listening) return;
    const recognition = new Speech();
    recognition.lang = lang() === "zh" ? "zh-CN" : "en-US";
    recognition.interimResults = false;
    recognition.onresult = (event) => setText(event.results[0]?.[0]?.transcript ?? "");
    recognition.onend = () => setListening(false);
    setListening(true);
    recognition.start();
  }

  const entry = followed === null ? undefined : model.tracked.find((e) => e.key === followed.key);
  const signed = followed?.signed === true && entry !== undefined && entry.problem === null;
  return (
    <section class="tile say" data-testid="cabin-say">
      <h2>{t("say.title")}</h2>
      <form onSubmit={submit} class="say-form">
        <input
          type="text"
          aria-label={t("say.label")}
          placeholder={t("say.placeholder")}
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        {Speech !== null && (
          <button type="button" class="big" onClick={listen} aria-pressed={listening}>
            {listening ? t("say.listening") : t("say.listen")}
          </button>
        )}
        <button type="submit" class="big" disabled={busy}>
          {t("say.send")}
        </button>
      </form>
      {busy && <p role="status">{t("say.thinking")}</p>}
      {error !== null && (
        <p role="alert" class="reason">
          {error}
        </p>
      )}
      {result !== null && (
        <div
          data-testid="say-answer"
          data-status={result.status}
          lang={result.language === "zh" ? "zh-CN" : "en"}
          class="say-answer"
        >
          <div class="say-text">
            {signed ? t("say.signed", { target: entry.target }) : result.answer}
          </div>
          {entry !== undefined && (
            <div data-testid="say-progress">
              <CommandStatus entry={entry} />
            </div>
          )}
        </div>
      )}
    </section>
  );
}
