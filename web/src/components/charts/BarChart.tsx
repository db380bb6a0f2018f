// Bars per category (a day, a month), one quantity with its unit, a tooltip per bar.
import { fixed, periodLabel } from "../../format";
import { NoData, SMALL, SmallFrame, useSmallChart, type Tip, type TrendProps } from "./Chart";
import { linear, niceMax, ticks } from "./scale";

export interface Bar {
  label: string;
  value: number;
}

interface Props extends TrendProps {
  bars: Bar[];
}

const { L, TOP, BOTTOM } = SMALL;
// The room one label of a day or a month takes on the time axis.
const LABEL_PX = 64;

export function BarChart(props: Props) {
  const { unit, bars, testid, empty } = props;
  const chart = useSmallChart();
  const { hover, setHover, R } = chart;
  if (bars.length === 0) return <NoData testid={testid} kind="bars" text={empty} />;
  const top = niceMax(bars.map((b) => b.value));
  const y = linear(0, top, BOTTOM, TOP);
  const bw = (R - L) / bars.length;
  const every = Math.ceil(bars.length / Math.max(1, Math.floor((R - L) / LABEL_PX)));
  const hovered = hover === null ? undefined : bars[hover];
  const tip: Tip | null =
    hover === null || hovered === undefined
      ? null
      : { at: (L + bw * (hover + 0.5)) / chart.W, lines: [periodLabel(hovered.label), `${fixed(hovered.value, 1)} ${unit}`] };
  return (
    <SmallFrame
      chart={chart}
      trend={props}
      tip={tip}
      data={{ bars: bars.length }}
      marks={ticks(0, top, 4)}
      y={y}
      xLabels={bars.map((b, i) =>
        i % every === 0 ? (
          <text key={b.label} x={L + bw * (i + 0.5)} y={BOTTOM + 16} text-anchor="middle">
            {periodLabel(b.label)}
          </text>
        ) : null,
      )}
      over={
        <g class="hits">
          {bars.map((b, i) => (
            <rect key={b.label} class="hit" x={L + bw * i} width={bw} y={TOP} height={BOTTOM - TOP} onMouseEnter={() => setHover(i)} />
          ))}
        </g>
      }
    >
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
    </SmallFrame>
  );
}
