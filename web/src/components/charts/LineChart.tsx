// A quantity over time as points joined by a line (a trend), with a tooltip per point.
import { dayAndClock, number } from "../../format";
import { NoData, SMALL, SmallFrame, useSmallChart, type Tip, type TrendProps } from "./Chart";
import { linear, ticks } from "./scale";

export interface Point {
  /** Epoch seconds. */
  at: number;
  value: number;
}

interface Props extends TrendProps {
  points: Point[];
  timeZone?: string;
}

const { L, TOP, BOTTOM } = SMALL;

export function LineChart(props: Props) {
  const { unit, points, timeZone, testid, empty } = props;
  const chart = useSmallChart();
  const { hover, setHover, R } = chart;
  if (points.length === 0) return <NoData testid={testid} kind="points" text={empty} />;
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
      : { at: x(hovered.at) / chart.W, lines: [dayAndClock(hovered.at, timeZone), `${number(hovered.value)} ${unit}`] };
  const line = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return (
    <SmallFrame
      chart={chart}
      trend={props}
      tip={tip}
      data={{ points: points.length }}
      marks={marks}
      y={y}
      xLabels={
        <>
          <text x={L} y={BOTTOM + 16}>
            {dayAndClock(first, timeZone)}
          </text>
          {last !== first && (
            <text x={R} y={BOTTOM + 16} text-anchor="end">
              {dayAndClock(last, timeZone)}
            </text>
          )}
        </>
      }
    >
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
    </SmallFrame>
  );
}
