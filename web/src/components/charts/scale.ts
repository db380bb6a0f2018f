// Linear scales and "nice" axis ticks for the hand-made SVG charts: no chart library, so
// the app stays small and draws offline.
import { fixed, number } from "../../format";

/** A linear map from `[d0, d1]` (data) to `[r0, r1]` (pixels); a flat domain maps to r0. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  if (span === 0) return () => r0;
  const k = (r1 - r0) / span;
  return (v: number) => r0 + (v - d0) * k;
}

/** Round-number ticks covering `[lo, hi]`, about `count` of them (1, 2 or 5 × 10ⁿ apart). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toFixed(10)));
  }
  return out;
}

/** The top of an axis starting at 0 that holds `values` (the last tick at or above the max). */
export function niceMax(values: number[], fallback = 1): number {
  const max = Math.max(0, ...values.filter(Number.isFinite));
  if (max <= 0) return fallback;
  const top = ticks(0, max).at(-1);
  return top !== undefined && top >= max ? top : max;
}

/** A tick's label: no needless decimals, in the app's language's number format. */
export function tickLabel(v: number): string {
  if (Number.isInteger(v)) return number(v);
  return fixed(v, Math.abs(v) < 1 ? 2 : 1);
}
