"""A running hub process: wires the hub, store, broker, connector, API and simulator.

This is the one place that knows how the parts fit together for a process; the parts
know nothing of each other beyond the hub. ``run_serve`` runs what a configuration file
describes; ``run_demo`` builds the demo's configuration (one home in Beijing Yizhuang with
a simulated car and home) and runs that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from carhome.api.automations import automation_routes
from carhome.api.local import create_app
from carhome.api.server import ApiServer
from carhome.automations import Engine, SqliteTimerStore
from carhome.clock import Clock, ScaledClock, SystemClock
from carhome.config import (
    ApiConfig,
    BuiltinBroker,
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    HomeConfig,
    HubConfig,
    MqttConfig,
    SimConfig,
)
from carhome.connectors.homeassistant import HomeAssistantBridge
from carhome.connectors.mqtt import EmbeddedBroker, MqttConnector
from carhome.hub import Home, Hub
from carhome.sim.runner import SimRunner
from carhome.sim.world import SimHome
from carhome.store.sqlite import SqliteStore

log: Final = logging.getLogger(__name__)

DATABASE: Final = "carhome.db"
DEMO_AUTOMATIONS: Final = Path(__file__).parent / "sim" / "demo_automations.yaml"

# The demo home: Beijing Economic-Technological Development Area (Yizhuang).
DEMO_HOME: Final = Home(
    id="yizhuang", name="Yizhuang home", lat=39.7953, lon=116.5060, radius_m=150.0, timezone="Asia/Shanghai"
)


@dataclass(frozen=True, slots=True)
class Running:
    """What a started hub tells the person who started it."""

    api_url: str
    broker_url: str
    database: Path
    homes: int
    devices: int


Announce = Callable[[Running], None]


async def run(
    config: Config,
    *,
    duration: float | None = None,
    data_dir: Path | None = None,
    announce: Announce | None = None,
    stop: asyncio.Event | None = None,
    automation_files: Sequence[Path] = (),
) -> None:
    """Run a hub as ``config`` describes, until ``stop`` is set, a signal, or ``duration``.

    Automations come from ``<data_dir>/automations/`` (a file or directory of YAML, when
    present) and from ``automation_files``; a bad automation is logged with its file and
    line, and the others run.
    """
    clock: Clock = SystemClock() if config.hub.clock_speed == 1 else ScaledClock(config.hub.clock_speed)
    directory = Path(data_dir if data_dir is not None else config.hub.data_dir)
    # once, at start, before anything else runs: a blocking call costs nothing here
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    database = directory / DATABASE
    stop = stop or asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        hub = await stack.enter_async_context(Hub(store=SqliteStore(database), clock=clock))
        sim_homes = _sim_homes(config)
        for home_config in config.homes:
            home = home_config.record()
            sim = sim_homes.get(home.id)
            if sim is not None:
                home = _with_places(home, sim)
            await hub.add_home(home)
            await hub.add_devices(home_config.device_records())
        if config.mqtt.url is not None:
            broker_url = config.mqtt.url
        else:
            address = config.mqtt.broker
            broker = await stack.enter_async_context(EmbeddedBroker(address.host, address.port))
            broker_url = broker.url
        engine = await stack.enter_async_context(Engine(hub, timer_store=SqliteTimerStore.beside(database)))
        user_automations = directory / "automations"
        for source in (*automation_files, *([user_automations] if user_automations.exists() else [])):
            for error in engine.load(source):
                log.warning("automation not loaded: %s", error)
        connector = await stack.enter_async_context(
            MqttConnector(hub, broker_url, username=config.mqtt.username, password=config.mqtt.password)
        )
        connector.on_event(lambda e: engine.device_event(e.home, e.device, e.name, e.fields, e.ts))
        if config.homeassistant is not None:
            ha = config.homeassistant
            await stack.enter_async_context(
                HomeAssistantBridge(
                    hub,
                    broker_url,
                    member=ha.member,
                    discovery_prefix=ha.discovery_prefix,
                    bridge_id=ha.bridge_id,
                    username=config.mqtt.username,
                    password=config.mqtt.password,
                )
            )
        app = create_app(hub)
        app.router.routes.extend(automation_routes(hub, engine))
        api = await stack.enter_async_context(
            ApiServer(app, host=config.api.host, port=config.api.port, announce=True)
        )
        for sim in sim_homes.values():
            await stack.enter_async_context(SimRunner(sim, broker_url, clock=clock))
        (announce or _print_running)(
            Running(
                api_url=api.url,
                broker_url=broker_url,
                database=database.resolve(),
                homes=len(hub.homes()),
                devices=len(hub.devices()),
            )
        )
        await _wait_for_stop(stop, duration)
        log.info("stopping")


def _sim_homes(config: Config) -> dict[str, SimHome]:
    if not config.sim.enabled:
        return {}
    wanted = set(config.sim.homes) or {h.id for h in config.homes}
    return {h.id: SimHome(h.record(), seed=index) for index, h in enumerate(config.homes) if h.id in wanted}


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


def _print_running(running: Running) -> None:
    print(  # noqa: T201 - this is the process's own announcement to the person who started it
        f"""carhome hub running: {running.homes} home(s), {running.devices} devices
  data:        {running.database}
  local API:   {running.api_url}
  MQTT broker: {running.broker_url}  (Home Assistant discovery on prefix homeassistant/)
Talk to it from another terminal (the CLI finds this hub by itself):
  .venv/bin/carhome devices
  .venv/bin/carhome state car
  .venv/bin/carhome call car lock
  .venv/bin/carhome call living_room_purifier turn_on
  .venv/bin/carhome set living_room_ac target_temperature 24
  .venv/bin/carhome automations list
Stop with Ctrl-C.""",
        flush=True,
    )


def demo_config(
    *, speed: float, data_dir: Path, api_port: int, mqtt_port: int, mqtt_url: str | None
) -> Config:
    """The demo: one home in Yizhuang whose car and devices the simulator plays."""
    sim = SimHome(DEMO_HOME)
    devices = tuple(DeviceConfig(id=d.id, type=d.type, name=d.name, room=d.room) for d in sim.records())
    home = HomeConfig(
        id=DEMO_HOME.id,
        name=DEMO_HOME.name,
        lat=DEMO_HOME.lat,
        lon=DEMO_HOME.lon,
        radius_m=DEMO_HOME.radius_m,
        timezone=DEMO_HOME.timezone,
        devices=devices,
    )
    mqtt = (
        MqttConfig(url=mqtt_url)
        if mqtt_url is not None
        else MqttConfig(builtin=BuiltinBroker(port=mqtt_port))
    )
    return Config(
        hub=HubConfig(data_dir=str(data_dir), clock_speed=speed),
        api=ApiConfig(port=api_port),
        mqtt=mqtt,
        homes=(home,),
        sim=SimConfig(enabled=True),
        # Point Home Assistant's MQTT integration at the demo's broker to see the home there.
        homeassistant=HomeAssistantConfig(member="owner"),
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
    await run(config, duration=duration, data_dir=data_dir, automation_files=[DEMO_AUTOMATIONS])


async def run_serve(config: Config) -> None:
    """``carhome serve``: run what the configuration file describes."""
    _configure_logging()
    await run(config)


# Libraries that narrate every connect and subscribe at INFO; their warnings still show.
_CHATTY: Final = ("gmqtt", "carhome.connectors.mqtt.gmqtt", "uvicorn.error", "amqtt", "transitions")


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
