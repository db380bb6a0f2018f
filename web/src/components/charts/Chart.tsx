// The frame every chart shares: an accessible SVG (title and description read by screen
// readers), axes with their units, and one tooltip that follows the hovered point.
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useState } from "preact/hooks";
import { tickLabel } from "./scale";
import "./charts.css";

let nextId = 1;

/** The frame of the small trend charts (bars, lines): height and plot edges; the width is
 * the chart's own on the page. */
export const SMALL = { W: 420, H: 230, L: 50, RIGHT: 16, TOP: 14, BOTTOM: 200 } as const;

/** The width the element is laid out at, followed as it changes (a phone turned, a window
 * resized). The charts draw at that width, one SVG unit per CSS pixel, so their labels
 * keep their size on a phone instead of shrinking with the whole drawing. */
export function useWidth(fallback: number): [(element: HTMLElement | null) => void, number] {
  const [element, setElement] = useState<HTMLElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    if (element === null) return;
    const take = () => {
      const w = Math.round(element.getBoundingClientRect().width);
      if (w > 0) setWidth(w);
    };
    take();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(take);
    observer.observe(element);
    return () => observer.disconnect();
  }, [element]);
  return [setElement, width];
}

export interface Tip {
  /** Where the tooltip points, as a fraction of the chart's width (0 … 1). */
  at: number;
  lines: string[];
}

interface FrameProps {
  /** The measured figure (see `useWidth`). */
  frame?: (element: HTMLElement | null) => void;
  title: string;
  desc: string;
  width: number;
  height: number;
  tip: Tip | null;
  onLeave: () => void;
  testid?: string;
  data?: Record<string, string | number>;
  children: ComponentChildren;
}

/** The SVG with its title and description, and the tooltip box over it when `tip` is set. */
export function ChartFrame({ frame, title, desc, width, height, tip, onLeave, testid, data, children }: FrameProps) {
  const [id] = useState(() => `chart-${nextId++}`);
  const attrs: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(data ?? {})) attrs[`data-${key}`] = value;
  return (
    <figure class="chart" data-testid={testid} ref={frame} {...attrs}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        onMouseLeave={onLeave}
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        {children}
      </svg>
      {tip !== null && (
        <div
          class={`chart-tip${tip.at > 0.6 ? " left" : ""}`}
          role="tooltip"
          data-testid="chart-tip"
          style={{ left: `${(tip.at * 100).toFixed(2)}%` }}
        >
          {tip.lines.map((line, i) => (
            <div key={i}>{line}</div>
          ))}
        </div>
      )}
    </figure>
  );
}

interface AxisProps {
  /** The axis line's x (a vertical axis). */
  x: number;
  top: number;
  bottom: number;
  values: number[];
  y: (v: number) => number;
  side: "left" | "right";
  label: string;
}

/** A vertical axis: line, ticks with their values, and the quantity with its unit. */
export function YAxis({ x, top, bottom, values, y, side, label }: AxisProps) {
  const dir = side === "left" ? -1 : 1;
  const mid = (top + bottom) / 2;
  const lx = x + dir * 40;
  return (
    <g class="axis" aria-hidden="true">
      <line x1={x} x2={x} y1={top} y2={bottom} />
      {values.map((v) => (
        <g key={v}>
          <line x1={x} x2={x + dir * 4} y1={y(v)} y2={y(v)} />
          <text x={x + dir * 7} y={y(v) + 4} text-anchor={side === "left" ? "end" : "start"}>
            {tickLabel(v)}
          </text>
        </g>
      ))}
      <text
        class="axis-label"
        x={lx}
        y={mid}
        text-anchor="middle"
        transform={`rotate(${side === "left" ? -90 : 90} ${lx} ${mid})`}
      >
        {label}
      </text>
    </g>
  );
}

/** Horizontal grid lines at the tick values. */
export function Grid({ left, right, values, y }: { left: number; right: number; values: number[]; y: (v: number) => number }) {
  return (
    <g class="grid" aria-hidden="true">
      {values.map((v) => (
        <line key={v} x1={left} x2={right} y1={y(v)} y2={y(v)} />
      ))}
    </g>
  );
}

/** What every small trend chart is given: its words, its quantity's unit and axis label,
 * its test id, and what it says when there is nothing to draw. */
export interface TrendProps {
  title: string;
  desc: string;
  unit: string;
  /** The axis label: the quantity and its unit. */
  axis: string;
  testid: string;
  empty: string;
}

/** What a small trend chart keeps: the hovered mark, and the measured frame and its width. */
export interface SmallChart {
  hover: number | null;
  setHover: (i: number | null) => void;
  frame: (element: HTMLElement | null) => void;
  /** The chart's width, and the right edge of its plot. */
  W: number;
  R: number;
}

export function useSmallChart(): SmallChart {
  const [hover, setHover] = useState<number | null>(null);
  const [frame, W] = useWidth(SMALL.W);
  return { hover, setHover, frame, W, R: W - SMALL.RIGHT };
}

/** What a small chart says where it has nothing to draw; `data-<kind>` is 0. */
export function NoData({ testid, kind, text }: { testid: string; kind: string; text: string }) {
  return (
    <p class="muted" data-testid={testid} {...{ [`data-${kind}`]: 0 }}>
      {text}
    </p>
  );
}

interface SmallFrameProps {
  chart: SmallChart;
  /** The chart's words, axis label and test id. */
  trend: TrendProps;
  tip: Tip | null;
  data: Record<string, number>;
  /** The value axis: its ticks and its scale. */
  marks: number[];
  y: (v: number) => number;
  /** The labels under the time axis. */
  xLabels: ComponentChildren;
  /** The marks (bars, a line and its dots), drawn over the grid. */
  children: ComponentChildren;
  /** What is drawn last, over everything (the hover areas). */
  over?: ComponentChildren;
}

/** A small trend chart's frame: grid, value axis on the left, time axis under the plot. */
export function SmallFrame({ chart, trend, tip, data, marks, y, xLabels, children, over }: SmallFrameProps) {
  const { L, TOP, BOTTOM, H } = SMALL;
  return (
    <ChartFrame
      frame={chart.frame}
      title={trend.title}
      desc={trend.desc}
      width={chart.W}
      height={H}
      tip={tip}
      onLeave={() => chart.setHover(null)}
      testid={trend.testid}
      data={data}
    >
      <Grid left={L} right={chart.R} values={marks} y={y} />
      {children}
      <YAxis x={L} top={TOP} bottom={BOTTOM} values={marks} y={y} side="left" label={trend.axis} />
      <g class="axis" aria-hidden="true">
        <line x1={L} x2={chart.R} y1={BOTTOM} y2={BOTTOM} />
        {xLabels}
      </g>
      {over}
    </ChartFrame>
  );
}
