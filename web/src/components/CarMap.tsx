// The car's position and recent track against the home's geofence, drawn in SVG from
// coordinates alone: no map tiles, so it works with no internet.
import type { HomeOut } from "../api";
import { number, placeName } from "../format";
import { t } from "../i18n";

const SIZE = 320;
const M_PER_DEG_LAT = 110_540;

interface Props {
  home: HomeOut;
  car: [number, number] | null;
  track: [number, number][];
}

/** Metres east and north of the home (an equirectangular view is exact enough for a town). */
function project(home: HomeOut, lat: number, lon: number): [number, number] {
  const x = (lon - home.lon) * 111_320 * Math.cos((home.lat * Math.PI) / 180);
  const y = (lat - home.lat) * M_PER_DEG_LAT;
  return [x, y];
}

function niceScale(metres: number): number {
  const steps = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
  return steps.find((s) => s >= metres) ?? 50000;
}

export function CarMap({ home, car, track }: Props) {
  const points = track.map(([lat, lon]) => project(home, lat, lon));
  const here = car === null ? null : project(home, car[0], car[1]);
  // Fit the geofence (three radii) and everything the car did; the home stays centred.
  let extent = home.radius_m * 3;
  for (const [x, y] of here === null ? points : [...points, here]) {
    extent = Math.max(extent, Math.abs(x) * 1.15, Math.abs(y) * 1.15);
  }
  const k = SIZE / 2 / extent;
  const sx = (x: number) => SIZE / 2 + x * k;
  const sy = (y: number) => SIZE / 2 - y * k;
  const bar = niceScale(extent / 3);
  const path = points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
  return (
    <svg
      class="map"
      viewBox={`0 0 ${SIZE} ${SIZE}`}
      role="img"
      aria-label={t("map.title")}
      data-testid="car-map"
    >
      <rect width={SIZE} height={SIZE} class="map-bg" />
      {home.places.map((place) => {
        const [x, y] = project(home, place.lat, place.lon);
        if (Math.abs(x) > extent || Math.abs(y) > extent) return null;
        return (
          <g key={place.name}>
            <circle cx={sx(x)} cy={sy(y)} r={Math.max(place.radius_m * k, 3)} class="place" />
            <text x={sx(x) + 6} y={sy(y) - 6} class="map-label">
              {placeName(place.name)}
            </text>
          </g>
        );
      })}
      <circle cx={SIZE / 2} cy={SIZE / 2} r={home.radius_m * k} class="geofence" />
      <text x={SIZE / 2} y={SIZE / 2 - home.radius_m * k - 6} class="map-label" text-anchor="middle">
        {t("map.home")}
      </text>
      <path d="M-6,4 L0,-4 L6,4 Z" transform={`translate(${SIZE / 2},${SIZE / 2})`} class="home-mark" />
      {path.length > 1 && <path d={path.join(" ")} class="track" />}
      {here !== null && (
        <circle cx={sx(here[0])} cy={sy(here[1])} r={7} class="car-dot" data-testid="car-dot" />
      )}
      {here === null && (
        <text x={SIZE / 2} y={SIZE - 40} class="map-label" text-anchor="middle">
          {t("map.nofix")}
        </text>
      )}
      <g transform={`translate(12,${SIZE - 14})`}>
        <line x1={0} y1={0} x2={bar * k} y2={0} class="scale" />
        <text x={0} y={-5} class="map-label">
          {bar >= 1000 ? `${number(bar / 1000)} km` : t("map.scale", { m: number(bar) })}
        </text>
      </g>
    </svg>
  );
}
