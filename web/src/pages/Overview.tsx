// The home at a glance: the car (charge, range, charging, doors and trunk, cabin, where it
// is) and every device grouped by room with its controls.
import type { DeviceOut } from "../api";
import { carView, SIG, type Closure } from "../car";
import { CarMap } from "../components/CarMap";
import { QuickControls } from "../components/Controls";
import { fixed, km, placeName, show } from "../format";
import { roomName, t } from "../i18n";
import { propLabel } from "../i18n/spec";
import { Link } from "../router";
import { useModel } from "../store";

/** The doors' summary, the trunk in it: "all locked", or what is unlocked and open. */
function closureText(c: Closure): string {
  if (c.secure) return t("doors.closedLocked");
  const parts: string[] = [];
  parts.push(c.unlockedDoors > 0 ? t("doors.unlocked", { count: c.unlockedDoors }) : t("doors.closedLocked"));
  if (c.openDoors > 0) parts.push(t("doors.open", { count: c.openDoors }));
  if (c.trunkOpen) parts.push(t("doors.trunkOpen"));
  else if (c.trunkUnlocked) parts.push(t("doors.trunkUnlocked"));
  return parts.join(" · ");
}

function CarCard() {
  const model = useModel();
  const car = carView(model);
  if (car === null || model.home === null) return null;
  const soc = car.num(SIG.soc);
  const range = car.num(SIG.range);
  const charging = car.bool(SIG.charging);
  const power = car.num(SIG.power);
  const cabin = car.num(SIG.cabin);
  const climate = car.bool(SIG.climate);
  const setTemp = car.num(SIG.setTemp);
  const limit = car.num(SIG.limit);
  const place = car.str(SIG.place);
  const distance = car.num(SIG.distance);
  const chargingText = charging
    ? t("car.charging.yes", { power: power === null ? "?" : `${fixed(Math.abs(power) / 1000, 1)} kW` })
    : car.bool(SIG.cable)
      ? t("car.charging.plugged")
      : t("car.charging.no");
  const atHome = place === "home";
  return (
    <section class="card car" data-testid="car-card">
      <h2>
        {car.name} <Link to={`/devices/${model.home.id}/${car.id}`} class="small">{t("car.details")}</Link>
      </h2>
      <div class="car-grid">
        <div class="car-facts">
          <div class="soc">
            <div class="soc-bar" style={{ width: `${soc ?? 0}%` }} />
            <span data-testid="car-soc">{soc === null ? t("common.unknown") : `${fixed(soc, 1)} %`}</span>
          </div>
          <dl>
            <dt>{t("car.range")}</dt>
            <dd data-testid="car-range">{range === null ? t("common.unknown") : km(range / 1000)}</dd>
            <dt>{t("car.charging")}</dt>
            <dd data-testid="car-charging">{chargingText}</dd>
            <dt>{t("car.limit")}</dt>
            <dd data-testid="car-limit">{show(limit, "percent")}</dd>
            <dt>{t("car.locks")}</dt>
            <dd data-testid="car-locks" class={car.closure.secure ? "" : "warn"}>
              {closureText(car.closure)}
            </dd>
            <dt>{t("car.cabin")}</dt>
            <dd data-testid="car-cabin">
              {show(cabin, "celsius")} ·{" "}
              {climate
                ? t("car.climate.on", { temp: show(setTemp, "celsius") })
                : t("car.climate.off")}
            </dd>
            <dt>{t("car.place")}</dt>
            <dd data-testid="car-place">
              {atHome ? t("car.place.home") : place === null ? t("car.place.away") : placeName(place)}
              {distance !== null && !atHome ? ` · ${t("car.distance", { km: km(distance) })}` : ""}
            </dd>
          </dl>
        </div>
        <CarMap home={model.home} car={car.position} track={model.track} />
      </div>
    </section>
  );
}

function DeviceRow({ device }: { device: DeviceOut }) {
  const model = useModel();
  const spec = model.specs[device.id];
  // Up to two read-only values tell the state at a glance (temperature, PM2.5, locked …).
  const readings = (spec?.properties ?? [])
    .filter((p) => !p.access.includes("write") && p.name !== "on")
    .slice(0, 2);
  return (
    <li class="device" data-device={device.id}>
      <div class="device-head">
        <Link to={`/devices/${device.home}/${device.id}`}>{device.name}</Link>
        {device.online === false && <span class="badge warn">{t("devices.offline")}</span>}
      </div>
      <div class="readings">
        {readings.map((p) => {
          const name = propLabel(device.type, p.name);
          return (
            <span key={p.name} class="reading" data-prop={p.name}>
              {name ?? <code>{p.name}</code>}
              {t("common.colon")}
              {show(model.state[device.id]?.[p.name]?.value, p.unit, device.type, p.name)}
            </span>
          );
        })}
      </div>
      <QuickControls device={device} />
    </li>
  );
}

export function Overview() {
  const model = useModel();
  const rooms = new Map<string | null, DeviceOut[]>();
  for (const device of model.devices) {
    if (device.type === "car") continue;
    const list = rooms.get(device.room) ?? [];
    list.push(device);
    rooms.set(device.room, list);
  }
  const ordered = [...rooms.entries()].sort(([a], [b]) =>
    a === null ? 1 : b === null ? -1 : a.localeCompare(b),
  );
  return (
    <main class="page overview">
      <CarCard />
      <section class="rooms">
        <h2>{t("devices.title")}</h2>
        <div class="room-grid">
          {ordered.map(([room, devices]) => (
            <section class="card room" key={room ?? "-"} data-room={room ?? "other"}>
              <h3>{roomName(room)}</h3>
              <ul>
                {devices.map((d) => (
                  <DeviceRow device={d} key={d.id} />
                ))}
              </ul>
            </section>
          ))}
        </div>
      </section>
    </main>
  );
}
