// The line a page with times carries: which zone they are in (the home's, by its name in
// the app's language, and its IANA id).
import { zone, zoneName } from "../format";
import { t } from "../i18n";

export function ZoneNote() {
  const id = zone();
  if (id === undefined) return null;
  return (
    <p class="muted small zone-note" data-testid="zone-note">
      {t("zone.note", { zone: zoneName(id) })} <code>{id}</code>
    </p>
  );
}
