// A form's round trip to the hub: the form is busy while the request runs, and what refused
// it is kept in words (or as a refusal naming the field), for the form to show.
import { useState } from "preact/hooks";
import { ApiError } from "./api";
import { t } from "./i18n";
import { describe } from "./problems";

/** A refusal from the hub: the field it names (without msgspec's `$.`), and why. */
export interface Refusal {
  field: string | null;
  reason: string;
}

export function refusal(exc: unknown): Refusal {
  if (!(exc instanceof ApiError)) return { field: null, reason: describe(exc) };
  const field = exc.body["field"];
  return { field: typeof field === "string" ? field.replace(/^\$\./, "") : null, reason: exc.reason };
}

/** Too many tries (429): how long the hub asks to wait, in words; else null. */
export function throttled(exc: unknown): string | null {
  if (!(exc instanceof ApiError) || exc.status !== 429) return null;
  const after = exc.body["retry_after"];
  return t("login.throttled", { seconds: typeof after === "number" ? Math.max(1, after) : 60 });
}

export interface Submit<P> {
  busy: boolean;
  problem: P | null;
  setProblem: (problem: P | null) => void;
  /** Run `work` with the form busy and the last problem cleared; a throw is kept as `say` puts it. */
  run: (work: () => Promise<void>) => Promise<void>;
}

export function useSubmit<P>(say: (exc: unknown) => P): Submit<P> {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<P | null>(null);
  async function run(work: () => Promise<void>): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch (exc) {
      setProblem(say(exc));
    } finally {
      setBusy(false);
    }
  }
  return { busy, problem, setProblem, run };
}
