// The parts of a form: a labelled input with its hint, the line that says what refused the
// form, and the refusal beside the field it names.
import type { ComponentChild } from "preact";
import { t, type MessageKey } from "../i18n";
import type { Refusal } from "../submit";

/** A labelled text input, with a hint under it. */
export function Field({
  label,
  name,
  value,
  onInput,
  type = "text",
  hint,
  ...more
}: {
  label: MessageKey;
  name: string;
  value: string;
  onInput: (value: string) => void;
  type?: string;
  hint?: ComponentChild;
  autocomplete?: string;
  required?: boolean;
  inputMode?: "decimal" | "text";
}) {
  return (
    <label>
      {t(label)}
      <input name={name} type={type} value={value} onInput={(e) => onInput(e.currentTarget.value)} {...more} />
      {hint !== undefined && <small class="muted">{hint}</small>}
    </label>
  );
}

/** What refused the form, said in words (nothing while nothing did). */
export function Failure({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** The hub's refusal beside the field it names (nothing when it names another). */
export function FieldError({ problem, field }: { problem: Refusal | null; field: string }) {
  if (problem?.field !== field) return null;
  return (
    <span class="field-error" role="alert" data-field-error={field}>
      {problem.reason}
    </span>
  );
}
