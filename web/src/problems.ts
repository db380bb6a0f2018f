// What went wrong, in words a person reads: the hub's reason for a refusal, a plain
// sentence when the hub cannot be reached (never the browser's "Failed to fetch"), and
// what the page itself got wrong otherwise.
import { ApiError, Unreachable } from "./api";
import { t } from "./i18n";

export function describe(exc: unknown): string {
  if (exc instanceof ApiError) {
    return exc.reason !== "" ? exc.reason : t("error.hub", { status: exc.status });
  }
  if (exc instanceof Unreachable || (exc instanceof TypeError && /fetch|network/i.test(exc.message))) {
    return t("error.unreachable");
  }
  return t("error.unexpected", { reason: exc instanceof Error ? exc.message : String(exc) });
}
