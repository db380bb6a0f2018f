// A car's charging plan over its horizon: the price of each slot on top; below, the solar
// forecast, the planned charging power (kW, left axis) and the state of charge it leads to
// (%, right axis), with the target, the departure and "now" marked. One tooltip per slot.
import { useState } from "preact/hooks";
import type { PlanSlot } from "../../api";
import { clock, dayAndClock, fixed, localHourMinute, number, zoneName } from "../../format";
import { t } from "../../i18n";
import { ChartFrame, Grid, YAxis, useWidth, type Tip } from "./Chart";
import { linear, niceMax, ticks } from "./scale";

export interface PlanChartProps {
  slots: PlanSlot[];
  socStart: number;
  target: number;
  departure: string;
  /** The hub's time now (epoch seconds), for the "now" marker. */
  now: number;
  timeZone?: string;
  car: string;
  mode: string;
}

const WIDE = 900;
const H = 400;
const PRICE = { top: 16, bottom: 106 };
const POWER = { top: 136, bottom: 350 };
const LABEL_Y = 372;
const HOUR_STEPS = [1, 2, 3, 6, 12, 24];
// The room one clock label takes on the time axis: as many labels as fit, no more.
const LABEL_PX = 56;

const epoch = (iso: string) => Date.parse(iso) / 1000;

export function PlanChart({ slots, socStart, target, departure, now, timeZone, car, mode }: PlanChartProps) {
  const [hover, setHover] = useState<number | null>(null);
  const [frame, W] = useWidth(WIDE);
  // the plot's edges leave the axes' numbers and titles their room, narrower on a phone
  const edge = W < 600 ? 48 : 60;
  const L = edge;
  const R = W - edge;
  const n = slots.length;
  if (n === 0) return <p class="muted" data-testid="plan-empty">{t("charts.plan.empty")}</p>;
  const starts = slots.map((s) => epoch(s.start));
  const step = n > 1 ? (starts[n - 1]! - starts[0]!) / (n - 1) : 900;
  const t0 = starts[0]!;
  const t1 = starts[n - 1]! + step;
  const x = linear(t0, t1, L, R);
  const bw = (R - L) / n;

  const priceMax = niceMax(slots.map((s) => s.price));
  const py = linear(0, priceMax, PRICE.bottom, PRICE.top);
  const kwMax = niceMax([...slots.map((s) => s.power_kw), ...slots.map((s) => s.solar_kw)]);
  const ky = linear(0, kwMax, POWER.bottom, POWER.top);
  const sy = linear(0, 100, POWER.bottom, POWER.top);

  const solar = slots
    .map((s, i) => `L${x(starts[i]!).toFixed(1)},${ky(s.solar_kw).toFixed(1)} H${(x(starts[i]!) + bw).toFixed(1)}`)
    .join(" ");
  const solarPath = `M${L},${POWER.bottom} ${solar} V${POWER.bottom} Z`;
  const socPoints = [
    `${x(t0).toFixed(1)},${sy(socStart).toFixed(1)}`,
    ...slots.map((s, i) => `${(x(starts[i]!) + bw).toFixed(1)},${sy(s.soc).toFixed(1)}`),
  ];

  // time labels on whole hours, as many hours apart as keeps them at most eight
  const hours = (t1 - t0) / 3600;
  const fit = Math.max(2, Math.min(8, Math.floor((R - L) / LABEL_PX)));
  const every = HOUR_STEPS.find((h) => hours / h <= fit) ?? 24;
  const labels = starts.filter((s) => {
    const [hour, minute] = localHourMinute(s, timeZone);
    return minute === 0 && hour % every === 0;
  });

  const dep = epoch(departure);
  const energy = slots.reduce((sum, s) => sum + (s.power_kw * step) / 3600, 0);
  const tip: Tip | null =
    hover === null || slots[hover] === undefined
      ? null
      : {
          at: (x(starts[hover]!) + bw / 2) / W,
          lines: [
            `${dayAndClock(starts[hover]!, timeZone)} – ${clock(starts[hover]! + step, timeZone)}`,
            t("charts.plan.tip.price", { price: fixed(slots[hover].price, 3) }),
            t("charts.plan.tip.solar", { kw: fixed(slots[hover].solar_kw, 2) }),
            t("charts.plan.tip.power", { kw: fixed(slots[hover].power_kw, 2) }),
            t("charts.plan.tip.soc", { soc: fixed(slots[hover].soc, 1) }),
          ],
        };
  const desc = t("charts.plan.desc", {
    slots: n,
    from: dayAndClock(t0, timeZone),
    to: dayAndClock(t1, timeZone),
    kwh: fixed(energy, 1),
    target: number(target),
    departure: dayAndClock(dep, timeZone),
  });
  return (
    <ChartFrame
      frame={frame}
      title={t("charts.plan.chart", { car })}
      desc={desc}
      width={W}
      height={H}
      tip={tip}
      onLeave={() => setHover(null)}
      testid="plan-chart"
      data={{ slots: n, mode, kwh: energy.toFixed(3) }}
    >
      <Grid left={L} right={R} values={ticks(0, priceMax, 3)} y={py} />
      <Grid left={L} right={R} values={ticks(0, kwMax, 5)} y={ky} />
      <g class="plan-price">
        {slots.map((s, i) => (
          <rect
            key={i}
            data-testid="plan-price"
            x={x(starts[i]!) + 0.5}
            width={Math.max(bw - 1, 0.5)}
            y={py(s.price)}
            height={PRICE.bottom - py(s.price)}
          />
        ))}
      </g>
      <YAxis x={L} top={PRICE.top} bottom={PRICE.bottom} values={ticks(0, priceMax, 3)} y={py} side="left" label={t("charts.plan.axis.price")} />
      <path class="plan-solar" d={solarPath} />
      <g class="plan-power">
        {slots.map((s, i) => (
          <rect
            key={i}
            data-testid="plan-power"
            data-kw={s.power_kw}
            x={x(starts[i]!) + 0.5}
            width={Math.max(bw - 1, 0.5)}
            y={ky(s.power_kw)}
            height={POWER.bottom - ky(s.power_kw)}
          />
        ))}
      </g>
      <line class="plan-target" x1={L} x2={R} y1={sy(target)} y2={sy(target)} />
      <text class="marker-label" x={R - 4} y={sy(target) - 5} text-anchor="end">
        {t("charts.plan.target", { target: number(target) })}
      </text>
      <polyline class="plan-soc" data-testid="plan-soc" data-points={n + 1} points={socPoints.join(" ")} />
      <YAxis x={L} top={POWER.top} bottom={POWER.bottom} values={ticks(0, kwMax, 5)} y={ky} side="left" label={t("charts.plan.axis.power")} />
      <YAxis x={R} top={POWER.top} bottom={POWER.bottom} values={[0, 20, 40, 60, 80, 100]} y={sy} side="right" label={t("charts.plan.axis.soc")} />
      <g class="axis" aria-hidden="true">
        <line x1={L} x2={R} y1={POWER.bottom} y2={POWER.bottom} />
        {labels.map((s) => (
          <g key={s}>
            <line x1={x(s)} x2={x(s)} y1={POWER.bottom} y2={POWER.bottom + 4} />
            <text x={x(s)} y={LABEL_Y - 6} text-anchor="middle">
              {clock(s, timeZone)}
            </text>
          </g>
        ))}
        <text class="axis-label" x={(L + R) / 2} y={LABEL_Y + 12} text-anchor="middle">
          {t("charts.plan.axis.time", { zone: zoneName(timeZone) })}
        </text>
      </g>
      {dep >= t0 && dep <= t1 && (
        <g class="plan-departure" data-testid="plan-departure">
          <line x1={x(dep)} x2={x(dep)} y1={PRICE.top} y2={POWER.bottom} />
          <text
            class="marker-label"
            x={x(dep) - L < 110 ? x(dep) + 4 : x(dep) - 4}
            y={POWER.top + 12}
            text-anchor={x(dep) - L < 110 ? "start" : "end"}
          >
            {t("charts.plan.departure", { time: clock(dep, timeZone) })}
          </text>
        </g>
      )}
      {now >= t0 && now <= t1 && (
        <g class="plan-now" data-testid="plan-now">
          <line x1={x(now)} x2={x(now)} y1={PRICE.top} y2={POWER.bottom} />
          <text
            class="marker-label"
            x={R - x(now) < 50 ? x(now) - 4 : x(now) + 4}
            y={PRICE.top + 10}
            text-anchor={R - x(now) < 50 ? "end" : "start"}
          >
            {t("charts.plan.now")}
          </text>
        </g>
      )}
      <g class="hits">
        {slots.map((_, i) => (
          <rect
            key={i}
            x={x(starts[i]!)}
            width={bw}
            y={PRICE.top}
            height={POWER.bottom - PRICE.top}
            class={hover === i ? "hit on" : "hit"}
            onMouseEnter={() => setHover(i)}
          />
        ))}
      </g>
    </ChartFrame>
  );
}
