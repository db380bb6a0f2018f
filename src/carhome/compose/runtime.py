"""A running hub process: access control and the hub over the data directory, and the parts.

The connectors and services run as a loop over parts (``carhome.compose.parts``), given one
``Context`` and what the process provides them by typed keys (the hub's database, the
broker's logins, the homes' tariffs); the broker with the MQTT connector, the automation
engine, charging, the API server and the simulator are still started here one by one.
``run_serve`` runs what a configuration file describes; ``run_demo`` runs the demo world
(``carhome.compose.demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request

from carhome.access.delegates import Delegates, DelegateSigner, DelegationGate
from carhome.access.firstrun import FirstRun
from carhome.access.keyroutes import key_routes
from carhome.access.service import Access
from carhome.api import create_app
from carhome.api.server import ApiServer
from carhome.automations import Engine, SqliteTimerStore
from carhome.automations.files import AutomationFiles
from carhome.automations.routes import automation_routes
from carhome.clock import Clock, ScaledClock, SystemClock
from carhome.compose.charging import start_charging_services, tariff
from carhome.compose.config import (
    Config,
    redacted,
)
from carhome.compose.demo import (
    DEMO_AUTOMATIONS,
    DEMO_HOME,
    DEMO_OWNER,
    OWNER_PASSWORD_FILE,
    demo_config,
    demo_owner_password,
)
from carhome.compose.operations import OPERATIONS
from carhome.compose.parts import CONNECTOR_PARTS, SERVICE_PARTS, compose
from carhome.compose.setup import SetupFacts, setup_routes
from carhome.connectors.mqtt import MqttConnector
from carhome.energy.homeprices import HomePrices
from carhome.energy.routes import charging_routes
from carhome.errors import ConfigError
from carhome.http import problems
from carhome.http.principals import principal_of
from carhome.hub import Home, Hub
from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.credentials import CREDENTIALS_FILE, Credentials, HomeAssistantAccess
from carhome.parts import Context
from carhome.parts.keys import BROKER, CHARGER_CARS, HUB_DATABASE, TARIFFS, BrokerLogins
from carhome.prices.tariffs import FixedTariff, Tariff
from carhome.private import private_dir
from carhome.signing.relay import ByConnector, KeyRelay
from carhome.sim.device import SimBase
from carhome.sim.runner import SimRunner
from carhome.sim.world import SimHome
from carhome.spec.devices import CHARGING
from carhome.store.sqlite import SqliteStore
from carhome.web import web_routes
from carhome.wire.setup import TariffKind

log: Final = logging.getLogger(__name__)

DATABASE: Final = "carhome.db"


@dataclass(frozen=True, slots=True)
class Running:
    """What a started hub tells the person who started it."""

    api_url: str
    broker_url: str
    """With any password in it shown as ``***``: this is printed."""
    database: Path
    homes: int
    devices: int
    setup_url: str | None = None
    """The one-time link that makes the first owner (a hub without members only)."""


Announce = Callable[[Running], None]


async def run(
    config: Config,
    *,
    duration: float | None = None,
    data_dir: Path | None = None,
    announce: Announce | None = None,
    stop: asyncio.Event | None = None,
    automation_files: Sequence[Path] = (),
    owner: Callable[[Access], Awaitable[object]] | None = None,
    clock: Clock | None = None,
) -> None:
    """Run a hub as ``config`` describes, until ``stop`` is set, a signal, or ``duration``.

    Automations come from ``<data_dir>/automations/`` (a file or directory of YAML, when
    present) and from ``automation_files``; a bad automation is logged with its file and
    line, and the others run. ``owner`` is called with the hub's access parts before the
    hub starts (the demo makes its owner there). ``clock`` replaces the one the
    configuration's ``clock_speed`` makes (a soak test paces its load on the hub's time).
    """
    clock = clock or (SystemClock() if config.hub.clock_speed == 1 else ScaledClock(config.hub.clock_speed))
    directory = Path(data_dir if data_dir is not None else config.hub.data_dir)
    # once, at start, before anything else runs: a blocking call costs nothing here
    private_dir(directory)
    database = directory / DATABASE
    stop = stop or asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        access = await stack.enter_async_context(
            Access.open(
                directory,
                clock,
                require_signatures=config.access.require_signatures,
                access_ttl=config.access.access_token_minutes * 60,
            )
        )
        first_run = await _first_owner(access, owner)
        hub = await stack.enter_async_context(
            Hub(store=SqliteStore(database), clock=clock, gatekeeper=access.gatekeeper)
        )
        await _guard(access, hub, config)
        sim_homes = _sim_homes(config)
        for home_config in config.homes:
            home = home_config.record()
            sim = sim_homes.get(home.id)
            if sim is not None:
                home = _with_places(home, sim)
            await hub.add_home(home)
            await hub.add_devices(home_config.device_records())
        # One MQTT identity per device, the hub and the bridge: the built-in broker enforces
        # them; an external Mosquitto gets them from `carhome mqtt credentials --mosquitto`.
        credentials = await asyncio.to_thread(mqtt_credentials, config, directory)  # fsynced: off the loop
        broker, hub_login, bridge_login = await _broker(stack, config, credentials, directory, hub)
        engine = await stack.enter_async_context(
            Engine(hub, timer_store=SqliteTimerStore.beside(database), members=access.members)
        )
        automations = AutomationFiles(directory, base=automation_files)
        for error in await automations.load(engine):
            log.warning("automation not loaded: %s", error)
        connector = await stack.enter_async_context(
            MqttConnector(
                hub,
                broker.url,
                username=hub_login[0],
                password=hub_login[1],
                max_payload=config.mqtt.max_payload,
            )
        )
        relay = ByConnector(hub, {"mqtt": connector})  # key sessions reach a device by its connector
        delegates = _delegation(hub, access, Delegates(directory / "delegates", relay, clock))
        context = Context(hub=hub, clock=clock, data=directory, access=access)
        context.provide(HUB_DATABASE, database)
        context.provide(BROKER, BrokerLogins(broker.url, hub_login, bridge_login))
        # each home's tariff: the charging section's, else the fixed price chosen at setup
        context.provide(TARIFFS, {**_chosen_prices(HomePrices.beside(directory)), **_tariffs(config)})
        # each configured charger meters the car the charging section names for it
        context.provide(CHARGER_CARS, _charger_cars(config))
        await stack.enter_async_context(compose(CONNECTOR_PARTS, config, context))
        app = _app(
            hub=hub,
            access=access,
            engine=engine,
            automations=automations,
            relay=relay,
            delegates=delegates,
            sim_homes=sim_homes,
            trusted_proxies=config.api.trusted_proxies,
            health=(connector.deafness, broker.trouble, *context.health),
        )
        stack.callback(app.state.live.close)
        charging = await start_charging_services(stack, hub, config, clock, database=database)
        if charging.ocpp is not None:
            relay.add("ocpp", charging.ocpp)
        app.router.routes.extend(charging_routes(hub, charging.controllers))
        facts = _setup_facts(config, broker.url, directory, charging.ocpp.port if charging.ocpp else None)
        app.router.routes.extend(setup_routes(hub, access, first_run, facts))
        await stack.enter_async_context(compose(SERVICE_PARTS, config, context))
        app.router.routes.extend(context.routes.routes)
        app.router.routes.extend(web_routes())  # last: it answers every path the API did not claim
        api = await stack.enter_async_context(
            ApiServer(app, host=config.api.host, port=config.api.port, allow_remote=True, announce=True)
        )
        for sim in sim_homes.values():
            await asyncio.to_thread(_secure, sim, directory / "devices", clock)  # keys fsynced: off the loop
            await stack.enter_async_context(
                SimRunner(
                    sim,
                    broker.url,
                    clock=clock,
                    device_links=charging.sim_links(sim, clock),
                    credentials=credentials,
                )
            )
        (announce or _print_running)(
            Running(
                api_url=api.url,
                broker_url=redacted(broker.url),
                database=database.resolve(),
                homes=len(hub.homes()),
                devices=len(hub.devices()),
                setup_url=_setup_link(first_run, api.url),
            )
        )
        await _wait_for_stop(stop, duration)
        log.info("stopping")


async def _guard(access: Access, hub: Hub, config: Config) -> None:
    """Access over the hub's commands, and the chargers an owner trusts for charging
    without signatures (each choice on record)."""
    access.guard(hub.commands)
    for entry in config.access.unsigned_charging:
        home = entry.home or config.homes[0].id
        decision = await access.gatekeeper.trust_unsigned(
            home=home, device=entry.device, domain=CHARGING, owner=entry.owner
        )
        if not decision.allowed:
            raise ConfigError(
                f"access.unsigned_charging: {home}/{entry.device} is not trusted: {decision.reason};"
                " name an owner of that home"
            )


def _delegation(hub: Hub, access: Access, delegates: Delegates) -> Delegates:
    """Automations and the charging controller get a safety-critical command signed, before
    it is submitted, only with a delegate key an owner enrolled for that domain on that
    device; the gatekeeper then decides on the signed command like on any other."""
    trusted = access.gatekeeper.trusts_unsigned
    hub.commands.signer = DelegateSigner(delegates, unsigned=trusted)
    hub.commands.gatekeeper = DelegationGate(access.gatekeeper, unsigned=trusted)
    return delegates


def mqtt_credentials(config: Config, directory: Path) -> Credentials:
    """The MQTT identities of the hub ``config`` describes, made or updated in ``directory``
    (existing passwords are kept; devices that are gone lose theirs)."""
    devices = [(h.id, d.id) for h in config.homes for d in h.devices if d.connector == "mqtt"]
    ha = config.homeassistant
    access = None if ha is None else HomeAssistantAccess(ha.bridge_id, ha.discovery_prefix)
    return Credentials.ensure(directory / CREDENTIALS_FILE, devices, home_assistant=access)


Login = tuple[str | None, str | None]


@dataclass(frozen=True, slots=True)
class _ExternalBroker:
    url: str

    def trouble(self) -> str | None:
        return None  # not ours to watch: the hub's link says when it cannot hear


async def _broker(
    stack: contextlib.AsyncExitStack[bool | None],
    config: Config,
    credentials: Credentials,
    directory: Path,
    hub: Hub,
) -> tuple[EmbeddedBroker | _ExternalBroker, Login, Login | None]:
    """The broker and the hub's and the bridge's logins (the bridge's only with Home
    Assistant configured): the built-in broker started with the credentials' ACLs, whose
    refusals count as the hub's rejections, or the configured external one with the
    configured logins."""
    ha = config.homeassistant
    if config.mqtt.url is not None:
        bridge = None if ha is None else (ha.username, ha.password)
        return _ExternalBroker(config.mqtt.url), (config.mqtt.username, config.mqtt.password), bridge
    address = config.mqtt.broker
    broker = await stack.enter_async_context(
        EmbeddedBroker(
            address.host,
            address.port,
            data_dir=directory,
            credentials=credentials,
            on_refusal=lambda refusal: hub.rejections.record(refusal.rejection()),
            clock=hub.clock,
        )
    )
    login = credentials.hub()
    bridge_login = None
    if ha is not None:
        identity = credentials.bridge()
        bridge_login = (identity.username, identity.password)
    return broker, (login.username, login.password), bridge_login


def _app(
    *,
    hub: Hub,
    access: Access,
    engine: Engine,
    automations: AutomationFiles,
    relay: KeyRelay,
    delegates: Delegates,
    sim_homes: dict[str, SimHome],
    trusted_proxies: tuple[str, ...],
    health: Sequence[Callable[[], str | None]],
) -> Starlette:
    """The hub's API: the core, automations and keys (charging routes are added after)."""
    app = create_app(hub, access=access, trusted_proxies=trusted_proxies, health=health, described=OPERATIONS)
    app.router.routes.extend(automation_routes(hub, engine, files=automations, access=access))
    app.router.routes.extend(
        key_routes(
            hub,
            relay,
            who=_member_of_home,
            authorize=lambda m, h: access.gatekeeper.authorize(
                member=m, home=h, face="api", operation="enroll_keys"
            ),
            screen=lambda home, device: _screen(sim_homes, home, device),
            delegates=delegates,
            audit=access.audit,
        )
    )
    return app


def _charger_cars(config: Config) -> dict[tuple[str, str], str]:
    """(home, charger) → the car the charging section names for each configured charger."""
    return {
        (entry.home or config.homes[0].id, entry.charger): entry.car
        for entry in config.charging
        if entry.charger
    }


def _tariffs(config: Config) -> dict[str, Tariff]:
    """Each home's tariff, from the charging section of its first charged car: what a
    charge cost is priced with."""
    zones = {h.id: ZoneInfo(h.timezone) for h in config.homes}
    found: dict[str, Tariff] = {}
    for entry in config.charging:
        home = entry.home or (config.homes[0].id if len(config.homes) == 1 else None)
        if home is not None and home in zones and home not in found:
            found[home] = tariff(entry.tariff, zones[home])
    return found


async def _first_owner(
    access: Access, owner: Callable[[Access], Awaitable[object]] | None
) -> FirstRun | None:
    """Let ``owner`` make the hub's owner; if there is still no member, the first run with
    its one-time setup code."""
    if owner is not None:
        await owner(access)
    return FirstRun.begin(access.members, access.passwords, access.throttle)


def _setup_link(first_run: FirstRun | None, api_url: str) -> str | None:
    """The link that makes the first owner of a hub without members (logged, and printed by
    the announcement), or None."""
    if first_run is None:
        return None
    link = f"{api_url}/setup?code={first_run.code}"
    log.warning("no owner yet: make one at %s (setup code %s)", link, first_run.code)
    return link


def _chosen_prices(prices: HomePrices) -> dict[str, Tariff]:
    """The fixed prices owners chose in the setup step, for homes the file does not price."""
    return {home: FixedTariff(price) for home, price in prices.all().items()}


def _setup_facts(config: Config, broker_url: str, directory: Path, ocpp_port: int | None) -> SetupFacts:
    """What the setup step tells of this hub: its configured homes and their tariffs, where
    MQTT devices and OCPP chargers connect."""
    kinds: dict[str, TariffKind] = {h.id: "none" for h in config.homes}
    for entry in config.charging:
        home = entry.home or config.homes[0].id
        if kinds.get(home) == "none":
            t = entry.tariff
            kinds[home] = "fixed" if t.fixed is not None else "time_of_use" if t.time_of_use else "file"
    ocpp = config.ocpp
    return SetupFacts(
        configured=kinds,
        prices=HomePrices.beside(directory),
        mqtt_url=redacted(broker_url),
        builtin_broker=not config.mqtt.external,
        ocpp_url=None if ocpp is None else f"ws://{ocpp.host}:{ocpp_port or ocpp.port}/ocpp/{{charger}}",
        chargers=() if ocpp is None else tuple((cid, c.home, c.device) for cid, c in ocpp.chargers.items()),
    )


def _member_of_home(request: Request) -> str:
    """The member a key request acts for; a home they are not in is not there for them."""
    principal = principal_of(request)
    home = request.path_params.get("home")
    if home is not None and not principal.sees(home):
        raise problems.unknown_home(home, [principal.home] if principal.home else [])
    return principal.member


def _screen(sim_homes: dict[str, SimHome], home: str, device: str) -> str | None:
    """What a simulated device's screen shows (its enrollment code), for the hub's local screen."""
    sim = sim_homes.get(home)
    found = sim.devices.get(device) if sim is not None else None
    return found.screen if isinstance(found, SimBase) else None


def _secure(sim: SimHome, directory: Path, clock: Clock) -> None:
    """Give each simulated device its directory — the commands it executed are kept there, so
    a restart never runs one twice — and each that verifies signatures its key store there
    (both kept across runs)."""
    for device_id, device in sim.devices.items():
        if isinstance(device, SimBase):
            where = directory / sim.home.id / device_id
            device.keep_in(where)
            if device.verifies:
                device.secure(where, home=sim.home.id, device=device_id, clock=clock)


def _sim_homes(config: Config) -> dict[str, SimHome]:
    if not config.sim.enabled:
        return {}
    wanted = set(config.sim.homes) or {h.id for h in config.homes}
    homes = {h.id: SimHome(h.record(), seed=index) for index, h in enumerate(config.homes) if h.id in wanted}
    if not config.sim.routine:
        for home in homes.values():
            if home.scenario is not None:
                home.scenario.trips = ()  # nobody drives off; the car is still plugged in at home
    return homes


def _with_places(home: Home, sim: SimHome) -> Home:
    """Add the simulator's destinations (work, supermarket) to the home's geofences."""
    known = {p.name for p in home.places}
    extra = tuple(p for p in sim.places() if p.name not in known)
    if not extra:
        return home
    return msgspec.structs.replace(home, places=(*home.places, *extra))


async def _wait_for_stop(stop: asyncio.Event, duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _print_running(
    running: Running, login: str = "  .venv/bin/carhome login MEMBER", member: str = "MEMBER"
) -> None:
    if running.setup_url is not None:
        code = running.setup_url.rpartition("code=")[2]
        print(  # noqa: T201 - the one-time setup link, for the person who started the hub
            f"""This hub has no owner yet. Make yours: open
  {running.setup_url}
or run `carhome setup` and give the setup code {code}
(valid once, until the owner exists).""",
            flush=True,
        )
    print(  # noqa: T201 - this is the process's own announcement to the person who started it
        f"""carhome hub running: {running.homes} home(s), {running.devices} devices
  data:        {running.database}
  local API:   {running.api_url}
  web app:     {running.api_url}/  (and the car's screen at {running.api_url}/cabin)
  MQTT broker: {running.broker_url}  (Home Assistant discovery on prefix homeassistant/)
Talk to it from another terminal (the CLI finds this hub by itself); log in first:
{login}
  .venv/bin/carhome devices
  .venv/bin/carhome state car
  .venv/bin/carhome call living_room_purifier turn_on
  .venv/bin/carhome set living_room_ac target_temperature 24
  .venv/bin/carhome automations list
  .venv/bin/carhome plan show
  .venv/bin/carhome say "turn on the living room air purifier"
  .venv/bin/carhome say 车还有多少电
Doors, locks, the garage and charging start take a command signed by your own key:
  .venv/bin/carhome keys new
  .venv/bin/carhome keys enroll car --member {member} --code-from-hub
  .venv/bin/carhome call car lock
  .venv/bin/carhome keys delegate garage_door garage --code-from-hub   (lets automations open it)
Stop with Ctrl-C.""",
        flush=True,
    )


async def run_demo(
    *,
    duration: float | None,
    data_dir: Path,
    speed: float,
    api_port: int,
    mqtt_port: int,
    mqtt_url: str | None,
) -> None:
    """``carhome demo``: the demo configuration, run until stopped or ``duration``."""
    _configure_logging()
    config = demo_config(
        speed=speed, data_dir=data_dir, api_port=api_port, mqtt_port=mqtt_port, mqtt_url=mqtt_url
    )
    password = demo_owner_password(data_dir)

    async def make_owner(access: Access) -> None:
        await access.ensure_owner(DEMO_OWNER, DEMO_HOME.id, "Demo owner", password)

    def announce(running: Running) -> None:
        where = data_dir / OWNER_PASSWORD_FILE
        _print_running(
            running,
            f"  .venv/bin/carhome login {DEMO_OWNER}    (password {password}, kept in {where})",
            DEMO_OWNER,
        )

    await run(
        config,
        duration=duration,
        data_dir=data_dir,
        automation_files=[DEMO_AUTOMATIONS],
        owner=make_owner,
        announce=announce,
    )


async def run_serve(config: Config) -> None:
    """``carhome serve``: run what the configuration file describes."""
    _configure_logging()
    await run(config)


# Libraries that narrate every connect and subscribe at INFO; their warnings still show.
_CHATTY: Final = (
    "gmqtt",
    "carhome.connectors.mqtt.gmqtt",
    "uvicorn.error",
    "carhome.nats",  # the NATS server's banner; its warnings and errors still show
    "ocpp",  # logs every OCPP frame at INFO
    "websockets.server",
)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
