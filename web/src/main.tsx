// The app shell: login gate, the header with navigation, language switch and live status,
// and the client-side routes.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type Health, logout, onSession, session, type SetupStatus } from "./api";
import { lang, onLang, setLang, t, type MessageKey } from "./i18n";
import { Automations } from "./pages/Automations";
import { Cabin } from "./pages/Cabin";
import { Charging } from "./pages/Charging";
import { DevicePage } from "./pages/Device";
import { Keys } from "./pages/Keys";
import { Login } from "./pages/Login";
import { Members } from "./pages/Members";
import { Overview } from "./pages/Overview";
import { Setup } from "./pages/Setup";
import { Trips } from "./pages/Trips";
import { Link, navigate, usePath } from "./router";
import { Reconnecting } from "./components/Reconnecting";
import { start, stop, useModel } from "./store";
import "./style.css";

function useLang(): string {
  const [current, setCurrent] = useState(lang());
  useEffect(() => onLang(() => setCurrent(lang())), []);
  return current;
}

function useLoggedIn(): boolean {
  const [inside, setInside] = useState(session() !== null);
  useEffect(() => onSession(() => setInside(session() !== null)), []);
  return inside;
}

function LangSwitch() {
  return (
    <button
      type="button"
      class="lang"
      lang={lang() === "en" ? "zh-CN" : "en"}
      onClick={() => setLang(lang() === "en" ? "zh" : "en")}
    >
      {t("nav.language")}
    </button>
  );
}

const NAV: [string, MessageKey][] = [
  ["/", "nav.overview"],
  ["/charging", "charts.nav.charging"],
  ["/trips", "charts.nav.trips"],
  ["/automations", "nav.automations"],
  ["/members", "nav.members"],
  ["/cabin", "nav.cabin"],
  ["/keys", "sign.nav"],
];

/** The header: on a wide screen every link in one row; on a narrow one a menu button that
 * opens them (with the language switch and logout) as a list under the header. */
function Header({ path }: { path: string }) {
  const model = useModel();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [path]);
  return (
    <header class={`top${open ? " open" : ""}`}>
      <div class="top-bar">
        <strong class="brand">{t("app.title")}</strong>
        {model.home !== null && <span class="muted home-name">{model.home.name}</span>}
        <span class={`live ${model.live}`} data-testid="live" data-live={model.live}>
          ● {t(`live.${model.live}`)}
        </span>
        <button
          type="button"
          class="menu-button"
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          <span aria-hidden="true">{open ? "✕" : "☰"}</span> {open ? t("nav.close") : t("nav.menu")}
        </button>
      </div>
      <div class="top-menu" id="main-nav">
        <nav>
          {NAV.map(([to, key]) => (
            <Link key={to} to={to} class={path === to ? "active" : ""}>
              {t(key)}
            </Link>
          ))}
        </nav>
        <div class="top-tools">
          <LangSwitch />
          <button
            type="button"
            onClick={async () => {
              stop();
              await logout();
              navigate("/login");
            }}
          >
            {t("nav.logout")}
          </button>
        </div>
      </div>
    </header>
  );
}

const HEALTH_EVERY_MS = 10_000;

/** What /api/health says is wrong (asked every 10 s), shown until it is right again:
 *  e.g. the hub hears no device because its MQTT link or the broker is down. */
function HealthBanner() {
  const [problems, setProblems] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    const ask = async () => {
      try {
        const health = await api<Health>("/api/health");
        if (live) setProblems(health.status === "ok" ? [] : health.problems);
      } catch {
        // the hub itself is unreachable: the live indicator says so already
      }
    };
    void ask();
    const timer = setInterval(() => void ask(), HEALTH_EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (problems.length === 0) return null;
  return (
    <p class="error banner" data-testid="health">
      {t("health.degraded", { problems: problems.join("; ") })}
    </p>
  );
}

function Page({ path }: { path: string }) {
  const device = /^\/devices\/([^/]+)\/([^/]+)$/.exec(path);
  if (device !== null) return <DevicePage home={decodeURIComponent(device[1] ?? "")} id={decodeURIComponent(device[2] ?? "")} />;
  switch (path) {
    case "/automations":
      return <Automations />;
    case "/members":
      return <Members />;
    case "/charging":
      return <Charging />;
    case "/trips":
      return <Trips />;
    case "/keys":
      return <Keys />;
    default:
      return <Overview />;
  }
}

/** Whether the hub waits for its first owner (asked once, while nobody is logged in here):
 * then the app opens the first-run page instead of the login. */
function useNeedsOwner(inside: boolean): boolean {
  const [needs, setNeeds] = useState(false);
  useEffect(() => {
    if (inside) return;
    let live = true;
    api<SetupStatus>("/api/setup")
      .then((status) => live && setNeeds(status.needs_owner))
      .catch(() => undefined); // unreachable: the login page says so when it is used
    return () => {
      live = false;
    };
  }, [inside]);
  return needs;
}

function App() {
  useLang();
  const path = usePath();
  const inside = useLoggedIn();
  const model = useModel();
  const needsOwner = useNeedsOwner(inside);
  const setup = path === "/setup";
  useEffect(() => {
    if (inside && !setup) void start();
    else if (!inside) stop();
  }, [inside, setup]);
  if (!inside && needsOwner && !setup) navigate("/setup", true);
  if (setup || (!inside && needsOwner)) {
    return (
      <>
        <div class="corner">
          <LangSwitch />
        </div>
        <Setup />
      </>
    );
  }
  if (!inside) {
    return (
      <>
        <div class="corner">
          <LangSwitch />
        </div>
        <Login onDone={() => navigate(path === "/login" ? "/" : path, true)} />
      </>
    );
  }
  if (path === "/login") navigate("/", true);
  // Every control of a page is off while the hub does not answer (a disabled fieldset).
  if (path === "/cabin") {
    return (
      <>
        <Reconnecting />
        <fieldset class="controls-gate" disabled={!model.reachable}>
          <Cabin />
        </fieldset>
      </>
    );
  }
  return (
    <>
      <Header path={path} />
      <Reconnecting />
      <HealthBanner />
      {model.error !== null && <p class="error banner">{t("common.error", { reason: model.error })}</p>}
      {!model.loaded && model.error === null ? (
        <p class="page">{t("common.loading")}</p>
      ) : (
        <fieldset class="controls-gate" disabled={!model.reachable}>
          <Page path={path} />
        </fieldset>
      )}
    </>
  );
}

document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
const root = document.getElementById("app");
if (root !== null) render(<App />, root);
