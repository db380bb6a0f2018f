// The cabin view: for the car's landscape touch screen, big targets only. Arrival time,
// the garage and the front door, scenes and the home's switchable devices — every command
// sent as the logged-in driver, so the hub's access decision applies and a refusal shows
// its reason in large type.
import { useState } from "preact/hooks";
import { session, type DeviceOut } from "../api";
import { carView, SIG } from "../car";
import { CommandStatus } from "../components/CommandStatus";
import { setPoint, Stepper, Switch, writable } from "../components/Controls";
import { SayBox } from "../components/SayBox";
import { km } from "../format";
import { t, type MessageKey } from "../i18n";
import { Link } from "../router";
import { lastCommand, send, useModel, type Model, type Tracked } from "../store";

interface SceneStep {
  device: string;
  kind: "set" | "action";
  target: string;
  args: Record<string, unknown>;
}

interface Scene {
  id: string;
  name: MessageKey;
  steps: SceneStep[];
}

function switchable(model: Model, d: DeviceOut): boolean {
  return (model.specs[d.id]?.properties ?? []).some((p) => p.name === "on" && writable(p));
}

/** Scenes made from the home's own devices: what to switch when arriving, leaving, sleeping. */
function scenes(model: Model): Scene[] {
  const all = model.devices.filter((d) => switchable(model, d));
  const of = (type: string) => all.filter((d) => d.type === type);
  const on = (d: DeviceOut, value: boolean): SceneStep => ({
    device: d.id,
    kind: "set",
    target: "on",
    args: { value },
  });
  return [
    {
      id: "arrive",
      name: "cabin.scene.arrive",
      steps: [...of("light"), ...of("air_purifier"), ...of("air_conditioner").filter((d) => d.room === "living_room")].map(
        (d) => on(d, true),
      ),
    },
    { id: "leave", name: "cabin.scene.leave", steps: all.map((d) => on(d, false)) },
    {
      id: "sleep",
      name: "cabin.scene.sleep",
      steps: [
        ...of("light").map((d) => on(d, false)),
        ...of("air_conditioner")
          .filter((d) => d.room === "bedroom")
          .map((d) => on(d, true)),
      ],
    },
  ];
}

function Eta() {
  const model = useModel();
  const car = carView(model);
  if (car === null) return null;
  const place = car.str(SIG.place);
  const distance = car.num(SIG.distance);
  const speed = car.num(SIG.speed);
  let big: string;
  let small = "";
  if (place === "home") {
    big = t("cabin.eta.home");
  } else if (car.etaMinutes !== null) {
    big = t("cabin.eta.minutes", { min: Math.max(1, Math.round(car.etaMinutes)) });
    small = t("cabin.eta.away", { km: km(distance ?? 0), speed: `${Math.round(speed ?? 0)} km/h` });
  } else {
    big = distance === null ? t("common.unknown") : t("cabin.eta.parked", { km: km(distance) });
  }
  const soc = car.num(SIG.soc);
  return (
    <section class="tile eta" data-testid="cabin-eta">
      <h2>{t("cabin.eta")}</h2>
      <div class="eta-big">{big}</div>
      <div class="eta-small">{small}</div>
      <div class="eta-small">
        {t("car.charge")}: {soc === null ? t("common.unknown") : `${Math.round(soc)} %`}
      </div>
    </section>
  );
}

function Garage({ device }: { device: DeviceOut }) {
  const model = useModel();
  const state = String(model.state[device.id]?.["state"]?.value ?? "");
  const known = ["open", "closed", "opening", "closing", "stopped"].includes(state);
  const open = state === "open" || state === "opening";
  const last = lastCommand(device.id);
  return (
    <section class="tile" data-testid="cabin-garage">
      <h2>{t("cabin.garage")}</h2>
      <div class="tile-state">{known ? t(`garage.${state}` as MessageKey) : t("common.unknown")}</div>
      <button type="button" class="big" onClick={() => void send(device.id, "action", open ? "close" : "open")}>
        {open ? t("cabin.close") : t("cabin.open")}
      </button>
      {last !== undefined && <CommandStatus entry={last} />}
    </section>
  );
}

function Door({ device }: { device: DeviceOut }) {
  const model = useModel();
  const locked = model.state[device.id]?.["locked"]?.value === true;
  const last = lastCommand(device.id);
  return (
    <section class="tile" data-testid="cabin-door">
      <h2>{t("cabin.door")}</h2>
      <div class="tile-state">{locked ? t("cabin.locked") : t("cabin.unlocked")}</div>
      <button type="button" class="big" onClick={() => void send(device.id, "action", locked ? "unlock" : "lock")}>
        {locked ? t("cabin.unlock") : t("cabin.lock")}
      </button>
      {last !== undefined && <CommandStatus entry={last} />}
    </section>
  );
}

function SceneTile({ scene }: { scene: Scene }) {
  const [sent, setSent] = useState<Tracked[] | null>(null);
  useModel(); // re-render as the scene's commands progress
  const entries = sent?.map((s) => lastCommand(s.device, s.target) ?? s) ?? [];
  const acked = entries.filter((e) => e.command?.status === "acked").length;
  const refused = entries.find((e) => e.problem !== null || e.command?.status === "failed");
  return (
    <button
      type="button"
      class="tile scene big"
      data-scene={scene.id}
      onClick={async () => {
        setSent(await Promise.all(scene.steps.map((s) => send(s.device, s.kind, s.target, s.args))));
      }}
    >
      <span class="scene-name">{t(scene.name)}</span>
      {sent !== null && (
        <span class="scene-progress" data-testid={`scene-${scene.id}-progress`}>
          {acked}/{entries.length} {t("cmd.acked")}
          {refused !== undefined &&
            ` · ${t("cmd.reason", { reason: refused.problem?.reason ?? refused.command?.error ?? "?" })}`}
        </span>
      )}
    </button>
  );
}

function DeviceTile({ device }: { device: DeviceOut }) {
  const model = useModel();
  const spec = model.specs[device.id];
  const point = spec !== undefined && device.type === "air_conditioner" ? setPoint(spec) : undefined;
  const last = lastCommand(device.id);
  return (
    <section class="tile device-tile" data-device={device.id}>
      <h3>{device.name}</h3>
      <Switch device={device} big />
      {point !== undefined && <Stepper device={device} prop={point} big />}
      {last?.problem && <CommandStatus entry={last} />}
    </section>
  );
}

export function Cabin() {
  const model = useModel();
  const garage = model.devices.find((d) => d.type === "garage_door");
  const door = model.devices.find((d) => d.type === "door_lock");
  const switchables = model.devices.filter((d) => switchable(model, d));
  const latest = model.tracked[0];
  return (
    <main class="cabin">
      <header class="cabin-bar">
        <strong>{t("cabin.title")}</strong>
        <span>{t("cabin.driver", { member: session()?.member ?? "" })}</span>
        <Link to="/" class="cabin-exit">
          {t("cabin.exit")}
        </Link>
      </header>
      {!model.loaded ? (
        <p>{t("common.loading")}</p>
      ) : (
        <div class="cabin-grid">
          <div class="cabin-left">
            <Eta />
            {garage !== undefined && <Garage device={garage} />}
            {door !== undefined && <Door device={door} />}
          </div>
          <div class="cabin-right">
            <SayBox />
            <h2>{t("cabin.scenes")}</h2>
            <div class="scene-row">
              {scenes(model).map((s) => (
                <SceneTile scene={s} key={s.id} />
              ))}
            </div>
            <h2>{t("cabin.devices")}</h2>
            <div class="tile-grid">
              {switchables.map((d) => (
                <DeviceTile device={d} key={d.id} />
              ))}
            </div>
          </div>
        </div>
      )}
      {latest !== undefined && (
        <footer class="cabin-status" data-testid="cabin-status">
          {model.devices.find((d) => d.id === latest.device)?.name ?? latest.device} · {latest.target}:{" "}
          <CommandStatus entry={latest} />
        </footer>
      )}
    </main>
  );
}

