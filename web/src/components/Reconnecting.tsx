// What the page says while the hub does not answer: that it is reconnecting, that the
// controls are off until then, and a button to try at once.
import { t } from "../i18n";
import { retryNow, useModel } from "../store";

export function Reconnecting() {
  const model = useModel();
  if (model.reachable || !model.loaded) return null;
  return (
    <p class="banner offline" role="status" data-testid="offline">
      <span>{t("hub.reconnecting")}</span>
      <button type="button" onClick={retryNow}>
        {t("hub.retry")}
      </button>
    </p>
  );
}
