// A table's head row, from its columns' message keys (tables of class "stack" repeat each
// heading in their cells' data-label, so a phone shows one card per row).
import { t, type MessageKey } from "../i18n";

/** A column's heading: its message key; with a hint, shown on hover; "#" as is; null for
 * a column with no heading (a row's buttons). */
export type Column = MessageKey | { label: MessageKey; hint: MessageKey } | "#" | null;

export function Head({ cols }: { cols: Column[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c, i) =>
          c === null ? (
            <th key={i} />
          ) : c === "#" ? (
            <th key={i}>#</th>
          ) : typeof c === "string" ? (
            <th key={i}>{t(c)}</th>
          ) : (
            <th key={i} title={t(c.hint)}>
              {t(c.label)}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}
