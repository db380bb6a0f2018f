// The cabin view: for the car's landscape touch screen, big targets only. Arrival time,
// the garage and the front door, scenes and the home's switchable devices — every command
// sent as the logged-in driver, so the hub's access decision applies and a refusal shows
// its reason in large type.
import { useEffect, useState } from "preact/hooks";
import { api, session, type DeviceOut, type SceneApplied, type SceneOut } from "../api";
import { carView, SIG } from "../car";
import { CommandStatus } from "../components/CommandStatus";
import { setPoint, Stepper, Switch, writable } from "../components/Controls";
import { SayBox } from "../components/SayBox";
import { km, number } from "../format";
import { t, tx, type MessageKey } from "../i18n";
import { en } from "../i18n/en";
import { describe } from "../problems";
import { targetLabel } from "../i18n/spec";
import { Link } from "../router";
import { lastCommand, send, track, useModel, type Model } from "../store";

function switchable(model: Model, d: DeviceOut): boolean {
  return (model.specs[d.id]?.properties ?? []).some((p) => p.name === "on" && writable(p));
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
    small = t("cabin.eta.away", { km: km(distance ?? 0), speed: `${number(Math.round(speed ?? 0))} km/h` });
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
        {t("car.charge")}: {soc === null ? t("common.unknown") : `${number(Math.round(soc))} %`}
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

// -- scenes: the ones the home's automation files define (GET /api/scenes), applied by the
// hub as the driver (POST /api/scenes/{id}/apply); each submitted command followed by id.

/** The scene's name in the app's language when the app knows it (the demo's), else the hub's. */
function sceneName(scene: SceneOut): string {
  const key = `cabin.scene.${scene.id}`;
  return key in en ? t(key as MessageKey) : scene.name;
}

function SceneTile({ scene }: { scene: SceneOut }) {
  const model = useModel();
  const name = (id: string) => model.devices.find((d) => d.id === id)?.name ?? id;
  const type = (id: string) => model.devices.find((d) => d.id === id)?.type ?? "";
  const [busy, setBusy] = useState(false);
  // the scene's commands, followed among the app's tracked commands
  const [keys, setKeys] = useState<number[] | null>(null);
  const [refusals, setRefusals] = useState<string[]>([]);
  const apply = async () => {
    setBusy(true);
    setKeys(null);
    setRefusals([]);
    try {
      const applied = await api<SceneApplied>(`/api/scenes/${encodeURIComponent(scene.id)}/apply`, { method: "POST" });
      setKeys(applied.commands.map((c) => track(c).key));
      setRefusals(applied.refused.map((r) => `${name(r.device)}${t("common.colon")}${r.reason}`));
    } catch (exc) {
      setKeys([]);
      setRefusals([describe(exc)]);
    } finally {
      setBusy(false);
    }
  };
  const commands = keys?.map((k) => model.tracked.find((e) => e.key === k)?.command ?? null);
  const acked = commands?.filter((c) => c?.status === "acked").length ?? 0;
  const failed = commands?.find((c) => c?.status === "failed" || c?.status === "expired") ?? undefined;
  const total = (commands?.length ?? 0) + refusals.length;
  return (
    <button
      type="button"
      class="tile scene big"
      data-scene={scene.id}
      disabled={scene.error !== null}
      title={scene.error ?? scene.steps.map((s) => `${name(s.device)} · ${targetLabel(type(s.device), s.target)}`).join(t("common.comma"))}
      onClick={() => void apply()}
    >
      <span class="scene-name">{sceneName(scene)}</span>
      {(busy || commands !== undefined) && (
        <span class="scene-progress" data-testid={`scene-${scene.id}-progress`}>
          {commands === undefined ? t("autoedit.scene.applying") : `${acked}/${total} ${t("cmd.acked")}`}
          {failed !== undefined && ` · ${t("cmd.reason", { reason: failed.error ?? failed.status })}`}
          {refusals.length > 0 && ` · ${t("autoedit.scene.refused", { reason: refusals.join("; ") })}`}
        </span>
      )}
    </button>
  );
}

function Scenes() {
  const [scenes, setScenes] = useState<SceneOut[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<SceneOut[]>("/api/scenes")
      .then(setScenes)
      .catch((exc: unknown) => setError(describe(exc)));
  }, []);
  if (error !== null) return <p class="error">{t("common.error", { reason: error })}</p>;
  if (scenes === null) return <p>{t("common.loading")}</p>;
  if (scenes.length === 0) return <p class="muted">{t("autoedit.scenes.none")}</p>;
  return (
    <div class="scene-row">
      {scenes.map((s) => (
        <SceneTile scene={s} key={`${s.home}/${s.id}`} />
      ))}
    </div>
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
        <span>{tx("cabin.driver", { member: <code>{session()?.member ?? ""}</code> })}</span>
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
            <SayBox here={model.devices.find((d) => d.type === "car")?.id} />
            <h2>{t("cabin.scenes")}</h2>
            <Scenes />
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
          {model.devices.find((d) => d.id === latest.device)?.name ?? latest.device} ·{" "}
          {targetLabel(model.devices.find((d) => d.id === latest.device)?.type ?? "", latest.target)}
          {t("common.colon")}
          <CommandStatus entry={latest} />
        </footer>
      )}
    </main>
  );
}

