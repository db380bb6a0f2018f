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
