// How values are shown: units in their usual symbols, VSS paths shortened, numbers rounded.
import { t } from "./i18n";

const UNITS: Record<string, string> = {
  percent: "%",
  celsius: "°C",
  degrees: "°",
  "ug/m3": "µg/m³",
  "km/h": "km/h",
};

export function unit(u: string | null): string {
  if (u === null) return "";
  return UNITS[u] ?? u;
}

/** A property's short label: the last two parts of a VSS path, a spec name as it is. */
export function label(name: string): string {
  const parts = name.split(".");
  return parts.length > 2 ? parts.slice(-2).join(".") : name;
}

export function show(v: unknown, u: string | null = null): string {
  if (v === undefined || v === null) return t("common.unknown");
  if (typeof v === "boolean") return v ? t("common.yes") : t("common.no");
  if (typeof v === "number") {
    const rounded = Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
    const symbol = unit(u);
    return symbol === "" ? rounded : `${rounded} ${symbol}`;
  }
  return String(v);
}

export function km(value: number): string {
  return value < 10 ? `${value.toFixed(2)} km` : `${value.toFixed(1)} km`;
}

export function age(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

export function time(epoch: number, timezone?: string): string {
  return new Date(epoch * 1000).toLocaleString(undefined, { timeZone: timezone, hour12: false });
}
