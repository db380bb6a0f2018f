// The first-run page (/setup): the hub's first owner made with the one-time setup code the
// hub printed on its terminal (pre-filled from the link), then the home (name, place, time
// zone, price; read-only when the configuration file holds it), then how first devices
// connect, from the hub's own settings. Every request goes to the hub's /api/setup routes.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  ApiError,
  api,
  type DeviceHints,
  firstOwner,
  type HomeSettings,
  type HomeSetup,
  session,
  type SetupStatus,
} from "../api";
import { t, tx } from "../i18n";
import { describe } from "../problems";
import { navigate } from "../router";
import { throttled, useSubmit } from "../submit";
import { Failure, Field } from "../components/Field";

type Step = "asking" | "owner" | "done" | "home" | "devices";

/** Why the hub refused, in the app's language. */
function refused(exc: unknown): string {
  if (exc instanceof ApiError) {
    if (exc.status === 403 && exc.body["field"] === "code") return t("setup.wrongCode");
    if (exc.status === 409) return t("setup.doneAlready");
    if (exc.status === 422 && exc.body["field"] === "password") return t("setup.weakPassword");
    if (exc.status === 422 && exc.body["field"] === "member") return t("setup.badMember");
    if (exc.status === 422 && exc.body["field"] === "$.timezone") return t("setup.badZone");
  }
  return throttled(exc) ?? describe(exc);
}

function OwnerStep({ onDone }: { onDone: () => void }) {
  const [code, setCode] = useState(() => new URLSearchParams(location.search).get("code") ?? "");
  const [member, setMember] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const { busy, problem: error, setProblem: setError, run } = useSubmit(refused);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (password !== again) {
      setError(t("setup.mismatch"));
      return;
    }
    await run(async () => {
      await firstOwner({ code: code.trim(), member: member.trim(), name: name.trim(), password, home: null });
      history.replaceState(null, "", "/setup"); // the code is spent: keep it out of the address bar
      onDone();
    });
  };
  return (
    <form class="card login-card setup-card" onSubmit={submit} data-testid="setup-owner">
      <h1>{t("setup.title")}</h1>
      <p class="muted">{t("setup.intro")}</p>
      <Field label="setup.code" name="code" value={code} onInput={setCode} hint={t("setup.codeHint")} autocomplete="off" required />
      <Field label="setup.member" name="member" value={member} onInput={setMember} hint={t("setup.memberHint")} autocomplete="username" required />
      <Field label="setup.name" name="name" value={name} onInput={setName} autocomplete="name" />
      <Field label="setup.password" name="password" type="password" value={password} onInput={setPassword} hint={t("setup.passwordHint")} autocomplete="new-password" required />
      <Field label="setup.again" name="again" type="password" value={again} onInput={setAgain} autocomplete="new-password" required />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? t("setup.busy") : t("setup.makeOwner")}
      </button>
      <Failure error={error} />
    </form>
  );
}

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function tariffWords(home: HomeSetup): string {
  if (home.tariff === "fixed" && home.price !== null) return t("setup.tariff.fixedAt", { price: home.price });
  return t(`setup.tariff.${home.tariff}`);
}

function HomeStep({ onDone }: { onDone: () => void }) {
  const [home, setHome] = useState<HomeSetup | null>(null);
  const [name, setName] = useState("");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [zone, setZone] = useState(browserZone());
  const [price, setPrice] = useState("");
  const { busy, problem: error, setProblem: setError, run } = useSubmit(refused);
  useEffect(() => {
    api<HomeSetup>("/api/setup/home")
      .then((found) => {
        setHome(found);
        setName(found.name);
        setLat(found.lat === null ? "" : String(found.lat));
        setLon(found.lon === null ? "" : String(found.lon));
        if (found.exists) setZone(found.timezone);
        setPrice(found.price === null ? "" : String(found.price));
      })
      .catch((exc: unknown) => setError(refused(exc)));
  }, []);
  if (home === null) return error === null ? <p class="page">{t("common.loading")}</p> : <Failure error={error} />;
  if (home.in_config) {
    return (
      <section class="card setup-card" data-testid="setup-home">
        <h1>{t("setup.home.title")}</h1>
        <p class="muted">{tx("setup.home.inConfig", { id: <code>{home.id}</code> })}</p>
        <dl class="setup-facts">
          <dt>{t("setup.home.name")}</dt>
          <dd>{home.name}</dd>
          <dt>{t("setup.home.place")}</dt>
          <dd>
            {home.lat}, {home.lon}
          </dd>
          <dt>{t("setup.home.zone")}</dt>
          <dd>
            <code>{home.timezone}</code>
          </dd>
          <dt>{t("setup.home.tariff")}</dt>
          <dd>{tariffWords(home)}</dd>
        </dl>
        <button type="button" class="primary" onClick={onDone}>
          {t("setup.next")}
        </button>
      </section>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    const settings: HomeSettings = {
      name: name.trim(),
      lat: Number(lat),
      lon: Number(lon),
      timezone: zone.trim(),
      price: price.trim() === "" ? null : Number(price),
    };
    if (![settings.lat, settings.lon, settings.price ?? 0].every(Number.isFinite)) {
      setError(t("setup.badNumber"));
      return;
    }
    await run(async () => {
      setHome(await api<HomeSetup>("/api/setup/home", { method: "PUT", body: settings }));
      onDone();
    });
  };
  return (
    <form class="card login-card setup-card" onSubmit={submit} data-testid="setup-home">
      <h1>{t("setup.home.title")}</h1>
      <p class="muted">{t("setup.home.intro")}</p>
      <Field label="setup.home.name" name="home-name" value={name} onInput={setName} required />
      <Field label="setup.home.lat" name="lat" value={lat} onInput={setLat} inputMode="decimal" required />
      <Field label="setup.home.lon" name="lon" value={lon} onInput={setLon} inputMode="decimal" hint={tx("setup.home.placeHint", { example: <code>39.7953, 116.5060</code> })} required />
      <Field label="setup.home.zone" name="timezone" value={zone} onInput={setZone} hint={tx("setup.home.zoneHint", { zone: <code>Asia/Shanghai</code> })} required />
      <Field label="setup.home.price" name="price" value={price} onInput={setPrice} inputMode="decimal" hint={t("setup.home.priceHint")} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? t("setup.busy") : t("setup.home.save")}
      </button>
      <Failure error={error} />
    </form>
  );
}

function DevicesStep() {
  const [hints, setHints] = useState<DeviceHints | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<DeviceHints>("/api/setup/devices")
      .then(setHints)
      .catch((exc: unknown) => setError(refused(exc)));
  }, []);
  if (hints === null) return error === null ? <p class="page">{t("common.loading")}</p> : <Failure error={error} />;
  return (
    <section class="card setup-card" data-testid="setup-devices">
      <h1>{t("setup.devices.title")}</h1>
      <p class="muted">{t("setup.devices.count", { count: hints.devices })}</p>
      <h2>{t("setup.devices.mqtt")}</h2>
      <dl class="setup-facts">
        <dt>{t("setup.devices.broker")}</dt>
        <dd>
          <code>{hints.mqtt_url}</code>
        </dd>
        <dt>{t("setup.devices.state")}</dt>
        <dd>
          <code>{hints.state_topic}</code>
        </dd>
        <dt>{t("setup.devices.commands")}</dt>
        <dd>
          <code>{hints.command_topic}</code>
        </dd>
        <dt>{t("setup.devices.login")}</dt>
        <dd>
          <code>{hints.credentials}</code>
        </dd>
      </dl>
      <h2>{t("setup.devices.wallbox")}</h2>
      {hints.ocpp_url === null ? (
        <p class="muted">{t("setup.devices.noOcpp")}</p>
      ) : (
        <dl class="setup-facts">
          <dt>{t("setup.devices.ocpp")}</dt>
          <dd>
            <code>{hints.ocpp_url}</code>
          </dd>
          {hints.chargers.map((c) => (
            <Fragment key={c.id}>
              <dt>
                <code>{c.device}</code>
              </dt>
              <dd>
                <code>{c.url}</code>
              </dd>
            </Fragment>
          ))}
        </dl>
      )}
      <button type="button" class="primary" onClick={() => navigate("/", true)}>
        {t("setup.devices.finish")}
      </button>
    </section>
  );
}

export function Setup() {
  const [step, setStep] = useState<Step>(session() !== null ? "home" : "asking");
  useEffect(() => {
    if (step !== "asking") return;
    api<SetupStatus>("/api/setup")
      .then((status) => setStep(status.needs_owner ? "owner" : "done"))
      .catch(() => setStep("owner"));
  }, [step]);
  return (
    <main class="setup">
      {step === "asking" && <p class="page">{t("common.loading")}</p>}
      {step === "owner" && <OwnerStep onDone={() => setStep("home")} />}
      {step === "done" && (
        <section class="card login-card setup-card">
          <h1>{t("setup.title")}</h1>
          <p>{t("setup.doneAlready")}</p>
          <button type="button" class="primary" onClick={() => navigate("/login", true)}>
            {t("login.submit")}
          </button>
        </section>
      )}
      {step === "home" && <HomeStep onDone={() => setStep("devices")} />}
      {step === "devices" && <DevicesStep />}
    </main>
  );
}
