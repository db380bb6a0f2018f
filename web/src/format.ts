// How values are shown to a person: numbers by Intl in the app's language, quantities in
// people's units (km, °C, kWh, kW, hours and minutes), enum values, booleans and units
// from the message catalogs, and every time in the home's timezone, saying which.
import { lang, t, type MessageKey } from "./i18n";
import { unitSymbol, valueLabel } from "./i18n/spec";
import { en } from "./i18n/en";

// -- the locale and the home's zone ------------------------------------------------------

/** The Intl locale of the app's language: zh-CN, or the browser's English (en-GB has a
 * 24-hour clock, en-US a 12-hour one). */
export function locale(): string {
  if (lang() === "zh") return "zh-CN";
  const english = (navigator.languages ?? [navigator.language]).find((l) => l.toLowerCase().startsWith("en"));
  return english ?? "en-US";
}

/** zh reads a 24-hour clock; English keeps its locale's own. */
function hourCycle(): { hourCycle?: "h23" } {
  return lang() === "zh" ? { hourCycle: "h23" } : {};
}

let homeZone: string | undefined;

/** The zone every time is shown in: the home's, once the app knows the home. */
export function setHomeZone(zone: string | undefined): void {
  homeZone = zone;
}

export function zone(): string | undefined {
  return homeZone;
}

/** The zone's name in the app's language ("China Standard Time", "中国标准时间"). */
export function zoneName(timeZone: string | undefined = homeZone): string {
  const parts = new Intl.DateTimeFormat(locale(), { timeZone, timeZoneName: "long" }).formatToParts(new Date());
  return parts.find((p) => p.type === "timeZoneName")?.value ?? timeZone ?? "";
}

// -- numbers and quantities ---------------------------------------------------------------

export function number(v: number, digits = 0, minDigits = 0): string {
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: digits,
    minimumFractionDigits: Math.min(minDigits, digits),
  }).format(v);
}

/** A number with exactly `digits` decimals (what a table column shows). */
export function fixed(v: number, digits: number): string {
  return number(v, digits, digits);
}

export function unit(u: string | null): string {
  if (u === null) return "";
  return unitSymbol(u) ?? u;
}

const join = (value: string, symbol: string) => (symbol === "" ? value : `${value} ${symbol}`);

/** A number as a property shows it: integers as they are, others to 2 (below 10) or 1 decimals. */
function plain(v: number): string {
  if (Number.isInteger(v)) return number(v);
  const digits = Math.abs(v) < 10 ? 2 : 1;
  return fixed(v, digits);
}

/** A duration in seconds as hours and minutes (seconds below a minute). */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return join(number(s), unit("s"));
  const minutes = Math.round(s / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return join(number(m), unit("min"));
  return m === 0 ? t("time.hours", { h: number(h) }) : t("time.hoursMinutes", { h: number(h), m: number(m) });
}

/** A quantity in people's units: metres of range as km, watts as kW from 1 kW on,
 * seconds and minutes as hours and minutes. */
export function quantity(v: number, u: string | null): string {
  if (u === "m" && Math.abs(v) >= 1000) return km(v / 1000);
  if (u === "W" && Math.abs(v) >= 1000) return join(fixed(v / 1000, 1), "kW");
  if (u === "s") return duration(v);
  if (u === "min") return duration(v * 60);
  return join(plain(v), unit(u));
}

export function km(value: number): string {
  return `${fixed(value, value < 10 ? 2 : 1)} km`;
}

export function kwh(value: number, digits = 1): string {
  return `${fixed(value, digits)} kWh`;
}

/** A sum of money; in the home's currency when the hub says which. */
export function money(value: number, currency?: string | null): string {
  if (currency) return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(value);
  return fixed(value, 2);
}

// -- a property's value -------------------------------------------------------------------

/** A property's value for a person: its enum value or boolean in words (from the device
 * type's tables), a number in people's units, a place by carhome's name for it. */
export function show(v: unknown, u: string | null = null, type?: string, name?: string): string {
  if (v === undefined || v === null) return t("common.unknown");
  if (typeof v === "boolean" || typeof v === "string") {
    const word = type !== undefined && name !== undefined ? valueLabel(type, name, v) : null;
    if (word !== null) return word;
    if (typeof v === "boolean") return v ? t("common.yes") : t("common.no");
    if (name === "place") return placeName(v);
    return v;
  }
  if (typeof v === "number") return quantity(v, u);
  return String(v);
}

/** A place: carhome's own words (home, away, the demo's work and supermarket) translated,
 * a place the home's owner named kept as named. */
export function placeName(place: string): string {
  const key = `place.${place}`;
  return key in en ? t(key as MessageKey) : place;
}

// -- times --------------------------------------------------------------------------------

const date = (epoch: number) => new Date(epoch * 1000);

/** "Mar 5, 14:05" / "3月5日 14:05", in the home's zone. */
export function dayAndClock(epoch: number, timeZone: string | undefined = homeZone): string {
  return new Intl.DateTimeFormat(locale(), {
    timeZone,
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    ...hourCycle(),
  }).format(date(epoch));
}

/** Date and time with the year, in the home's zone. */
export function time(epoch: number, timeZone: string | undefined = homeZone): string {
  return new Intl.DateTimeFormat(locale(), {
    timeZone,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    ...hourCycle(),
  }).format(date(epoch));
}

/** Hour and minute, in the home's zone. */
export function clock(epoch: number, timeZone: string | undefined = homeZone): string {
  return new Intl.DateTimeFormat(locale(), { timeZone, hour: "2-digit", minute: "2-digit", ...hourCycle() }).format(
    date(epoch),
  );
}

/** A calendar day or month key of the history ("2026-03-05", "2026-03") as a person reads it. */
export function periodLabel(key: string): string {
  const [y, m, d] = key.split("-").map(Number);
  if (y === undefined || m === undefined || Number.isNaN(y) || Number.isNaN(m)) return key;
  const at = new Date(Date.UTC(y, m - 1, d ?? 1));
  const options: Intl.DateTimeFormatOptions =
    d === undefined ? { timeZone: "UTC", year: "numeric", month: "short" } : { timeZone: "UTC", month: "short", day: "numeric" };
  return new Intl.DateTimeFormat(locale(), options).format(at);
}

/** The wall-clock parts of `epoch` in `timeZone`. */
function wall(epoch: number, timeZone: string | undefined): Record<string, number> {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date(epoch));
  const out: Record<string, number> = {};
  for (const p of parts) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** The local hour and minute of `epoch` in `timeZone`. */
export function localHourMinute(epoch: number, timeZone: string | undefined = homeZone): [number, number] {
  const w = wall(epoch, timeZone);
  return [(w["hour"] ?? 0) % 24, w["minute"] ?? 0];
}

const pad = (n: number | undefined) => String(n ?? 0).padStart(2, "0");

/** `<input type="datetime-local">`'s value for `epoch`, on the home's wall clock. */
export function zonedInput(epoch: number, timeZone: string | undefined = homeZone): string {
  const w = wall(epoch, timeZone);
  return `${w["year"]}-${pad(w["month"])}-${pad(w["day"])}T${pad(w["hour"])}:${pad(w["minute"])}`;
}

/** The instant a `datetime-local` value means on the home's wall clock (epoch seconds). */
export function fromZonedInput(value: string, timeZone: string | undefined = homeZone): number {
  const [day, hm] = value.split("T");
  const [y, mo, d] = (day ?? "").split("-").map(Number);
  const [h, mi] = (hm ?? "").split(":").map(Number);
  const asUtc = Date.UTC(y ?? 1970, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0) / 1000;
  // The zone's offset at that wall time, found from the instant it would be in UTC and
  // corrected once (right across a DST change as well as anywhere else).
  const offset = (epoch: number) => {
    const w = wall(epoch, timeZone);
    return Date.UTC(w["year"] ?? 1970, (w["month"] ?? 1) - 1, w["day"] ?? 1, w["hour"] ?? 0, w["minute"] ?? 0, w["second"] ?? 0) / 1000 - epoch;
  };
  const first = asUtc - offset(asUtc);
  return asUtc - offset(first);
}

export function age(seconds: number): string {
  if (seconds < 60) return join(number(Math.max(0, Math.round(seconds))), unit("s"));
  if (seconds < 3600) return join(number(Math.round(seconds / 60)), unit("min"));
  return t("time.hours", { h: number(Math.round(seconds / 3600)) });
}

/** A property's short id: the last two parts of a VSS path, a spec name as it is. */
export function label(name: string): string {
  const parts = name.split(".");
  return parts.length > 2 ? parts.slice(-2).join(".") : name;
}
