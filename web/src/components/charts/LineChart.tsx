// A quantity over time as points joined by a line (a trend), with a tooltip per point.
import { useState } from "preact/hooks";
import { dayAndClock, number } from "../../format";
import { ChartFrame, Grid, SMALL, YAxis, useWidth, type Tip } from "./Chart";
import { linear, ticks } from "./scale";

export interface Point {
  /** Epoch seconds. */
  at: number;
  value: number;
}

interface Props {
  title: string;
  desc: string;
  unit: string;
  axis: string;
  points: Point[];
  timeZone?: string;
  testid: string;
  empty: string;
}

const { H, L, RIGHT, TOP, BOTTOM } = SMALL;

export function LineChart({ title, desc, unit, axis, points, timeZone, testid, empty }: Props) {
  const [hover, setHover] = useState<number | null>(null);
  const [frame, W] = useWidth(SMALL.W);
  const R = W - RIGHT;
  if (points.length === 0) {
    return (
      <p class="muted" data-testid={testid} data-points={0}>
        {empty}
      </p>
    );
  }
  const values = points.map((p) => p.value);
  const marks = ticks(Math.min(...values) * 0.9, Math.max(...values) * 1.1, 4);
  const lo = marks[0] ?? 0;
  const hi = marks.at(-1) ?? 1;
  const y = linear(lo, hi, BOTTOM, TOP);
  const first = points[0]!.at;
  const last = points[points.length - 1]!.at;
  // a single point (or all at once) sits in the middle
  const x = first === last ? () => (L + R) / 2 : linear(first, last, L + 8, R - 8);
  const hovered = hover === null ? undefined : points[hover];
  const tip: Tip | null =
    hover === null || hovered === undefined
      ? null
      : { at: x(hovered.at) / W, lines: [dayAndClock(hovered.at, timeZone), `${number(hovered.value)} ${unit}`] };
  const line = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
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
      data={{ points: points.length }}
    >
      <Grid left={L} right={R} values={marks} y={y} />
      <path class="trend" d={line} />
      {points.map((p, i) => (
        <circle
          key={i}
          class={hover === i ? "dot on" : "dot"}
          cx={x(p.at)}
          cy={y(p.value)}
          r={hover === i ? 6 : 4}
          onMouseEnter={() => setHover(i)}
        />
      ))}
      <YAxis x={L} top={TOP} bottom={BOTTOM} values={marks} y={y} side="left" label={axis} />
      <g class="axis" aria-hidden="true">
        <line x1={L} x2={R} y1={BOTTOM} y2={BOTTOM} />
        <text x={L} y={BOTTOM + 16}>
          {dayAndClock(first, timeZone)}
        </text>
        {last !== first && (
          <text x={R} y={BOTTOM + 16} text-anchor="end">
            {dayAndClock(last, timeZone)}
          </text>
        )}
      </g>
    </ChartFrame>
  );
}
