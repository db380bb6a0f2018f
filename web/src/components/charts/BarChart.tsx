// Bars per category (a day, a month), one quantity with its unit, a tooltip per bar.
import { useState } from "preact/hooks";
import { fixed, periodLabel } from "../../format";
import { ChartFrame, Grid, SMALL, YAxis, useWidth, type Tip } from "./Chart";
import { linear, niceMax, ticks } from "./scale";

export interface Bar {
  label: string;
  value: number;
}

interface Props {
  title: string;
  desc: string;
  unit: string;
  /** The axis label: the quantity and its unit. */
  axis: string;
  bars: Bar[];
  testid: string;
  empty: string;
}

const { H, L, RIGHT, TOP, BOTTOM } = SMALL;
// The room one label of a day or a month takes on the time axis.
const LABEL_PX = 64;

export function BarChart({ title, desc, unit, axis, bars, testid, empty }: Props) {
  const [hover, setHover] = useState<number | null>(null);
  const [frame, W] = useWidth(SMALL.W);
  const R = W - RIGHT;
  if (bars.length === 0) {
    return (
      <p class="muted" data-testid={testid} data-bars={0}>
        {empty}
      </p>
    );
  }
  const top = niceMax(bars.map((b) => b.value));
  const y = linear(0, top, BOTTOM, TOP);
  const bw = (R - L) / bars.length;
  const every = Math.ceil(bars.length / Math.max(1, Math.floor((R - L) / LABEL_PX)));
  const hovered = hover === null ? undefined : bars[hover];
  const tip: Tip | null =
    hover === null || hovered === undefined
      ? null
      : { at: (L + bw * (hover + 0.5)) / W, lines: [periodLabel(hovered.label), `${fixed(hovered.value, 1)} ${unit}`] };
  return (
    <ChartFrame
      frame={frame}
      title={title}
      desc={desc}
      width={W}
      height={H}
      tip={tip}
      onLeave={() => setHover(null)}
      testid={testid}
      data={{ bars: bars.length }}
    >
      <Grid left={L} right={R} values={ticks(0, top, 4)} y={y} />
      <g class="bars">
        {bars.map((b, i) => (
          <rect
            key={b.label}
            class={hover === i ? "bar on" : "bar"}
            data-label={b.label}
            data-value={b.value}
            x={L + bw * i + bw * 0.12}
            width={bw * 0.76}
            y={y(b.value)}
            height={BOTTOM - y(b.value)}
          />
        ))}
      </g>
      <YAxis x={L} top={TOP} bottom={BOTTOM} values={ticks(0, top, 4)} y={y} side="left" label={axis} />
      <g class="axis" aria-hidden="true">
        <line x1={L} x2={R} y1={BOTTOM} y2={BOTTOM} />
        {bars.map((b, i) =>
          i % every === 0 ? (
            <text key={b.label} x={L + bw * (i + 0.5)} y={BOTTOM + 16} text-anchor="middle">
              {periodLabel(b.label)}
            </text>
          ) : null,
        )}
      </g>
      <g class="hits">
        {bars.map((b, i) => (
          <rect key={b.label} class="hit" x={L + bw * i} width={bw} y={TOP} height={BOTTOM - TOP} onMouseEnter={() => setHover(i)} />
        ))}
      </g>
    </ChartFrame>
  );
}
