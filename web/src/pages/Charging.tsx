// Each charged car's plan: the chart over the planning horizon, the mode switch and the
// target/departure editor. The plan is fetched again when the car or its charger changes
// (heard over the WebSocket) and taken from the hub's answer after every change made here.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type CarPlan } from "../api";
import { PlanChart } from "../components/charts/PlanChart";
import { ZoneNote } from "../components/ZoneNote";
import { dayAndClock, fixed, kwh, money, number } from "../format";
import { t, type MessageKey } from "../i18n";
import { en } from "../i18n/en";
import { describe } from "../problems";
import { useModel } from "../store";
import { refusal, useSubmit, type Refusal } from "../submit";
import { FieldError } from "../components/Field";

/** "12 min", "3 h": how long ago, in the page's language. */
function ago(seconds: number): string {
  if (seconds < 60) return t("charging.age.s", { n: Math.round(seconds) });
  if (seconds < 2 * 3600) return t("charging.age.min", { n: Math.floor(seconds / 60) });
  return t("charging.age.h", { n: Math.floor(seconds / 3600) });
}

/** The plan's data sources: a line each, and a warning when a provider is not answering. */
function Sources({ plan }: { plan: CarPlan }) {
  const sources = plan.sources ?? [];
  const site = plan.site ?? null;
  if (sources.length === 0 && site === null && !plan.shared_line) return null;
  return (
    <ul class="plan-sources" data-testid="plan-sources">
      {sources.map((s) => {
        const what = t(s.kind === "prices" ? "charging.source.prices" : "charging.source.solar");
        const error = s.error ?? "";
        let text: string;
        if (s.age_s === null) text = t("charging.source.none", { title: s.title, error });
        else if (s.stale) text = t("charging.source.stale", { title: s.title, age: ago(s.age_s), error });
        else text = t("charging.source.fresh", { title: s.title, age: ago(s.age_s) });
        return (
          <li key={s.provider} class={s.stale ? "warn" : "muted"} data-testid={`source-${s.kind}`} data-stale={String(s.stale)}>
            <span class="muted">{what}: </span>
            <span>{text}</span>
          </li>
        );
      })}
      {site !== null && site.meter_silent && (
        <li class="warn" data-testid="site-silent">
          {t("charging.site.silent")}
        </li>
      )}
      {site !== null && !site.meter_silent && site.cap_a !== null && (
        <li class="muted" data-testid="site-cap">
          {t("charging.site.cap", { amps: site.cap_a })}
        </li>
      )}
      {site !== null && site.surplus_kw !== null && (
        <li class="muted" data-testid="site-surplus">
          {t("charging.site.surplus", { power: `${fixed(site.surplus_kw, 1)} kW` })}
        </li>
      )}
      {plan.shared_line ? (
        <li class="muted" data-testid="shared-line">
          {t("charging.line", { line: plan.shared_line })}
        </li>
      ) : null}
    </ul>
  );
}

const MODES = ["off", "now", "solar", "solar_min", "smart"] as const;
const REFETCH_MS = 1000; // a burst of changes (SoC, power, status) makes one fetch

/** The planner's problem in the app's language when its code is known; the hub's English
 * sentence (with its details) stays in the title. */
function problemWords(plan: CarPlan): string {
  const key = `charts.problem.${plan.problem_code ?? ""}`;
  return key in en ? t(key as MessageKey) : (plan.problem ?? "");
}

function ModeSwitch({ plan, busy, onMode }: { plan: CarPlan; busy: boolean; onMode: (m: string) => void }) {
  return (
    <div class="segmented" role="radiogroup" aria-label={t("charts.mode.label")} data-testid="mode-switch">
      {MODES.map((mode) => (
        <button
          key={mode}
          type="button"
          role="radio"
          aria-checked={plan.mode === mode}
          data-mode={mode}
          disabled={busy}
          title={t(`charts.mode.${mode}.hint` as MessageKey)}
          onClick={() => onMode(mode)}
        >
          {t(`charts.mode.${mode}` as MessageKey)}
        </button>
      ))}
    </div>
  );
}

function TargetEditor({
  plan,
  busy,
  problem,
  onSave,
}: {
  plan: CarPlan;
  busy: boolean;
  problem: Refusal | null;
  onSave: (body: { target: number; departure?: string }) => void;
}) {
  const [target, setTarget] = useState(String(plan.target));
  const [departure, setDeparture] = useState("");
  return (
    <form
      class="inline"
      data-testid="target-editor"
      onSubmit={(event) => {
        event.preventDefault();
        const body: { target: number; departure?: string } = { target: Number(target) };
        if (departure !== "") body.departure = departure;
        onSave(body);
      }}
    >
      <label>
        {t("charts.target.label")}{" "}
        <input
          type="number"
          name="target"
          step={1}
          value={target}
          aria-invalid={problem?.field === "target"}
          onInput={(e) => setTarget(e.currentTarget.value)}
        />{" "}
        %
      </label>
      <FieldError problem={problem} field="target" />
      <label>
        {t("charts.departure.label")}{" "}
        <input
          type="time"
          name="departure"
          value={departure}
          aria-invalid={problem?.field === "departure"}
          onInput={(e) => setDeparture(e.currentTarget.value)}
        />
      </label>
      <FieldError problem={problem} field="departure" />
      <button type="submit" class="primary" disabled={busy}>
        {t("charts.target.save")}
      </button>
      {problem !== null && (problem.field === null || !["target", "departure", "mode"].includes(problem.field)) && (
        <span class="field-error" role="alert">
          {problem.reason}
        </span>
      )}
    </form>
  );
}

function CarPlanCard({ initial }: { initial: CarPlan }) {
  const model = useModel();
  const tz = model.home?.timezone;
  const [plan, setPlan] = useState(initial);
  const { busy, problem, run } = useSubmit(refusal);
  const path = `/api/charging/${encodeURIComponent(plan.home)}/${encodeURIComponent(plan.car)}`;

  // Follow the car and its charger live: any change of theirs may have made a new plan.
  const carState = model.state[plan.car];
  const chargerState = plan.charger === null ? undefined : model.state[plan.charger];
  const heard = JSON.stringify([carState ?? null, chargerState ?? null]);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const timer = setTimeout(() => {
      api<CarPlan>(path)
        .then(setPlan)
        .catch(() => undefined); // the next change tries again; the plan shown stays
    }, REFETCH_MS);
    return () => clearTimeout(timer);
  }, [heard]);

  // The hub's clock, as its latest report of this car says (the demo may run it fast).
  const reported = Object.values(carState ?? {}).map((e) => e.ts);
  const madeAt = plan.made_at === null ? 0 : Date.parse(plan.made_at) / 1000;
  const now = Math.max(madeAt, ...reported);

  async function change(body: Record<string, unknown>): Promise<void> {
    await run(async () => setPlan(await api<CarPlan>(path, { method: "PUT", body })));
  }

  const status = plan.charging_now
    ? t("charts.status.charging", { kw: fixed(plan.setpoint_kw, 1) })
    : plan.plugged
      ? t("charts.status.plugged")
      : t("charts.status.unplugged");
  return (
    <section class="card" data-car={plan.car} data-testid="car-plan" data-mode={plan.mode}>
      <h2>{t("charts.plan.title", { car: model.devices.find((d) => d.id === plan.car)?.name ?? plan.car })}</h2>
      <div class="controls">
        <ModeSwitch plan={plan} busy={busy} onMode={(mode) => void change({ mode })} />
        {problem?.field === "mode" && (
          <span class="field-error" role="alert">
            {problem.reason}
          </span>
        )}
      </div>
      <div class="plan-facts">
        <div>
          <span class="muted">{t("charts.fact.status")}</span>
          <span data-testid="plan-status">{status}</span>
        </div>
        <div>
          <span class="muted">{t("charts.fact.target")}</span>
          <span data-testid="plan-target">{number(plan.target)} %</span>
        </div>
        <div>
          <span class="muted">{t("charts.fact.departure")}</span>
          <span data-testid="plan-departure-at">{dayAndClock(Date.parse(plan.departure) / 1000, tz)}</span>
        </div>
        <div>
          <span class="muted">{t("charts.fact.energy")}</span>
          <span data-testid="plan-energy">{kwh(plan.energy_kwh)}</span>
        </div>
        <div>
          <span class="muted">{t("charts.fact.cost")}</span>
          <span data-testid="plan-cost">{money(plan.cost, model.home?.currency)}</span>
        </div>
        {plan.shortfall_kwh > 0 && (
          <div class="warn">
            <span class="muted">{t("charts.fact.shortfall")}</span>
            <span>{kwh(plan.shortfall_kwh)}</span>
          </div>
        )}
      </div>
      {plan.problem !== null && (
        <p class="error" data-testid="plan-problem" data-code={plan.problem_code ?? ""} title={plan.problem}>
          {problemWords(plan)}
        </p>
      )}
      <Sources plan={plan} />
      <PlanChart
        slots={plan.slots}
        socStart={plan.soc_start}
        target={plan.target}
        departure={plan.departure}
        now={now}
        timeZone={tz}
        car={plan.car}
        mode={plan.mode}
      />
      <ul class="legend" aria-hidden="true">
        {(["price", "solar", "power", "soc", "departure"] as const).map((key) => (
          <li key={key}>
            <span class={`key ${key}`} />
            {t(`charts.legend.${key}`)}
          </li>
        ))}
      </ul>
      <TargetEditor plan={plan} busy={busy} problem={problem} onSave={(body) => void change(body)} />
    </section>
  );
}

export function Charging() {
  const [plans, setPlans] = useState<CarPlan[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<CarPlan[]>("/api/charging")
      .then(setPlans)
      .catch((exc: unknown) => setError(describe(exc)));
  }, []);
  return (
    <main class="page charging">
      <h1>{t("charts.charging.title")}</h1>
      <ZoneNote />
      {error !== null && <p class="error">{t("common.error", { reason: error })}</p>}
      {plans === null && error === null && <p>{t("common.loading")}</p>}
      {plans !== null && plans.length === 0 && <p class="muted">{t("charts.charging.none")}</p>}
      {plans?.map((p) => <CarPlanCard key={`${p.home}/${p.car}`} initial={p} />)}
    </main>
  );
}
