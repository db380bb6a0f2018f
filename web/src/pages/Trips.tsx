// The car's trips and charges from the hub's history, with charts: distance and energy per
// day or month, and the consumption trend. Picking a trip shows where it went on the map
// (its start and end: the history keeps no track in between).
import { useEffect, useState } from "preact/hooks";
import { api, type ChargeSession, type Summary, type Trip } from "../api";
import { BarChart } from "../components/charts/BarChart";
import { LineChart } from "../components/charts/LineChart";
import { CarMap } from "../components/CarMap";
import { ZoneNote } from "../components/ZoneNote";
import { dayAndClock, fixed, money, placeName } from "../format";
import { t } from "../i18n";
import { describe } from "../problems";
import { useModel } from "../store";
import { Head } from "../components/Head";

type Period = "day" | "month";
const LIMIT = 500;

const num = (v: number | null, digits: number, unit = "") =>
  v === null ? t("common.unknown") : `${fixed(v, digits)}${unit === "" ? "" : ` ${unit}`}`;

const reason = describe;

/** The price paid per kWh over `charges` (cost over energy added), when any was costed. */
function pricePerKwh(charges: ChargeSession[]): number | null {
  let cost = 0;
  let kwh = 0;
  for (const c of charges) {
    if (c.cost === null || c.added_kwh === null) continue;
    cost += c.cost;
    kwh += c.cost_basis === "grid" && c.grid_kwh !== null ? c.grid_kwh : c.added_kwh;
  }
  return kwh > 0 ? cost / kwh : null;
}

function TripMap({ trip }: { trip: Trip }) {
  const model = useModel();
  if (model.home === null) return null;
  const ends: [number, number][] = [];
  if (trip.start_lat !== null && trip.start_lon !== null) ends.push([trip.start_lat, trip.start_lon]);
  if (trip.end_lat !== null && trip.end_lon !== null) ends.push([trip.end_lat, trip.end_lon]);
  return (
    <div data-testid="trip-map" data-trip={trip.id}>
      <CarMap home={model.home} car={ends.at(-1) ?? null} track={ends} />
      <p class="muted small">{t("charts.trips.map.note")}</p>
    </div>
  );
}

export function Trips() {
  const model = useModel();
  const tz = model.home?.timezone;
  const [trips, setTrips] = useState<Trip[] | null>(null);
  const [charges, setCharges] = useState<ChargeSession[] | null>(null);
  const [period, setPeriod] = useState<Period>("day");
  const [summaries, setSummaries] = useState<Summary[] | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ trips: Trip[] }>(`/api/history/trips?limit=${LIMIT}`)
      .then((r) => setTrips(r.trips))
      .catch((exc: unknown) => setError(reason(exc)));
    api<{ charges: ChargeSession[] }>(`/api/history/charges?limit=${LIMIT}`)
      .then((r) => setCharges(r.charges))
      .catch((exc: unknown) => setError(reason(exc)));
  }, []);
  useEffect(() => {
    api<{ summaries: Summary[] }>(`/api/history/summaries?period=${period}`)
      .then((r) => setSummaries(r.summaries))
      .catch((exc: unknown) => setError(reason(exc)));
  }, [period]);

  const price = charges === null ? null : pricePerKwh(charges);
  // newest first in the tables; the API answers oldest first
  const tripRows = [...(trips ?? [])].reverse();
  const pickedTrip = trips?.find((trip) => trip.id === picked) ?? null;
  const byKey = new Map<string, { km: number; kwh: number }>();
  for (const s of summaries ?? []) {
    const sum = byKey.get(s.key) ?? { km: 0, kwh: 0 };
    byKey.set(s.key, { km: sum.km + s.distance_km, kwh: sum.kwh + s.driving_kwh });
  }
  const keys = [...byKey.keys()].sort();
  const periodWord = t(period === "day" ? "charts.trips.per.day" : "charts.trips.per.month");
  return (
    <main class="page trips">
      <h1>{t("charts.trips.title")}</h1>
      <ZoneNote />
      {error !== null && <p class="error">{t("common.error", { reason: error })}</p>}
      <section class="card">
        <div class="controls">
          <div class="segmented" role="radiogroup" aria-label={t("charts.trips.period")}>
            {(["day", "month"] as const).map((p) => (
              <button key={p} type="button" role="radio" aria-checked={period === p} onClick={() => setPeriod(p)}>
                {t(p === "day" ? "charts.trips.daily" : "charts.trips.monthly")}
              </button>
            ))}
          </div>
        </div>
        <div class="chart-grid">
          {(
            [
              ["distance", "km", "km"],
              ["energy", "kWh", "kwh"],
            ] as const
          ).map(([what, unit, field]) => (
            <BarChart
              key={what}
              title={t(`charts.trips.${what}.title`, { per: periodWord })}
              desc={t(`charts.trips.${what}.desc`, { count: keys.length, per: periodWord })}
              unit={unit}
              axis={t(`charts.trips.axis.${what}`)}
              bars={keys.map((k) => ({ label: k, value: byKey.get(k)?.[field] ?? 0 }))}
              testid={`${what}-chart`}
              empty={t("charts.trips.none")}
            />
          ))}
          <LineChart
            title={t("charts.trips.consumption.title")}
            desc={t("charts.trips.consumption.desc")}
            unit="Wh/km"
            axis={t("charts.trips.axis.consumption")}
            points={(trips ?? []).flatMap((trip) => (trip.wh_per_km === null ? [] : [{ at: trip.start, value: trip.wh_per_km }]))}
            timeZone={tz}
            testid="consumption-chart"
            empty={t("charts.trips.none")}
          />
        </div>
      </section>
      <div class="car-grid">
        <section class="card">
          <h2>{t("charts.trips.list")}</h2>
          {trips === null && error === null && <p>{t("common.loading")}</p>}
          {trips !== null && trips.length === 0 && <p class="muted">{t("charts.trips.none")}</p>}
          {trips !== null && trips.length > 0 && (
            <table data-testid="trips-table" class="stack">
              <Head cols={["charts.col.start", "charts.col.end", "charts.col.distance", "charts.col.energy", "charts.col.consumption", { label: "charts.col.cost.estimate", hint: "charts.col.cost.hint" }]} />
              <tbody>
                {tripRows.map((trip) => (
                  <tr
                    key={trip.id}
                    data-trip={trip.id}
                    class={trip.id === picked ? "picked pickable" : "pickable"}
                    tabIndex={0}
                    aria-selected={trip.id === picked}
                    onClick={() => setPicked(trip.id)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" || e.key === " ") setPicked(trip.id);
                    }}
                  >
                    <td data-label={t("charts.col.start")}>
                      {dayAndClock(trip.start, tz)}
                      {trip.start_place !== null && <span class="muted"> · {placeName(trip.start_place)}</span>}
                    </td>
                    <td data-label={t("charts.col.end")}>
                      {dayAndClock(trip.end, tz)}
                      {trip.end_place !== null && <span class="muted"> · {placeName(trip.end_place)}</span>}
                    </td>
                    <td class="value" data-col="distance" data-label={t("charts.col.distance")}>
                      {num(trip.distance_km, 1, "km")}
                    </td>
                    <td class="value" data-col="energy" data-label={t("charts.col.energy")}>
                      {num(trip.energy_kwh, 2, "kWh")}
                    </td>
                    <td class="value" data-col="consumption" data-label={t("charts.col.consumption")}>
                      {num(trip.wh_per_km, 0, "Wh/km")}
                    </td>
                    <td class="value" data-col="cost" data-label={t("charts.col.cost.estimate")}>
                      {price === null || trip.energy_kwh === null
                        ? t("common.unknown")
                        : `≈ ${money(trip.energy_kwh * price, model.home?.currency)}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="card">
          <h2>{t("charts.trips.map")}</h2>
          {pickedTrip === null ? <p class="muted">{t("charts.trips.pick")}</p> : <TripMap trip={pickedTrip} />}
        </section>
      </div>
      <section class="card">
        <h2>{t("charts.charges.title")}</h2>
        {charges === null && error === null && <p>{t("common.loading")}</p>}
        {charges !== null && charges.length === 0 && <p class="muted">{t("charts.charges.none")}</p>}
        {charges !== null && charges.length > 0 && (
          <table data-testid="charges-table" class="stack">
            <Head cols={["charts.col.start", "charts.col.end", "charts.col.added", "charts.col.grid", "charts.col.cost", "charts.col.source"]} />
            <tbody>
              {[...charges].reverse().map((c) => (
                <tr key={c.id} data-charge={c.id}>
                  <td data-label={t("charts.col.start")}>{dayAndClock(c.start, tz)}</td>
                  <td data-label={t("charts.col.end")}>{dayAndClock(c.end, tz)}</td>
                  <td class="value" data-col="added" data-label={t("charts.col.added")}>
                    {num(c.added_kwh, 2, "kWh")}
                  </td>
                  <td class="value" data-label={t("charts.col.grid")}>
                    {num(c.grid_kwh, 2, "kWh")}
                  </td>
                  <td class="value" data-col="cost" data-label={t("charts.col.cost")}>
                    {c.cost === null ? t("common.unknown") : money(c.cost, model.home?.currency)}
                  </td>
                  <td data-col="source" data-label={t("charts.col.source")}>
                    {c.charger === null
                      ? t("charts.charges.nocharger")
                      : (model.devices.find((d) => d.id === c.charger)?.name ?? c.charger)}
                    {c.place !== null && <span class="muted"> · {placeName(c.place)}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
