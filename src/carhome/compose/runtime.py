"""A running hub process: the hub over the data directory, and one loop over its parts.

``run`` opens the data directory and the hub with its store, then runs every part of the hub
(``carhome.compose.parts.hub_parts``: access control, the broker with the MQTT connector,
the automation engine, the connectors, charging with the OCPP server, the services, the API
server, the simulator) with one ``compose`` over one ``Context``, giving them by typed keys
only what the process has (the hub's database, the automation files it was handed, every
operation for the description, the demo's owner, the Home Assistant bridge's identity);
what the parts need of each other they provide each other. ``run_serve`` runs what a
configuration file describes; ``run_demo`` runs the demo world
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

import msgspec

from carhome.access.firstrun import FirstRun
from carhome.access.part import FIRST_RUN, OWNER
from carhome.access.service import Access
from carhome.clock import Clock, ScaledClock, SystemClock
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
from carhome.compose.parts import compose, hub_parts
from carhome.hub import Command, Decision, Hub
from carhome.mqtt.credentials import CREDENTIALS_FILE, Credentials, HomeAssistantAccess
from carhome.parts import Context
from carhome.parts.keys import (
    API_URL,
    AUTOMATION_FILES,
    BROKER,
    DESCRIBED,
    HUB_DATABASE,
    MQTT_BRIDGE,
    POSTGRES,
    BridgeLogin,
)
from carhome.private import private_dir
from carhome.spec import DeviceSpec
from carhome.store import PostgresStore, open_store
from carhome.store.postgres import redacted as store_url
from carhome.store.sqlite import SqliteStore

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
    store: str | None = None
    """The URL of the hub's store (its password shown as ``***``) when it is not the SQLite
    file in the data directory."""


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
    line, and the others run. ``owner`` is called with access control as it opens, before
    any other part starts (the demo makes its owner there). ``clock`` replaces the one the
    configuration's ``clock_speed`` makes (a soak test paces its load on the hub's time).
    """
    clock = clock or (SystemClock() if config.hub.clock_speed == 1 else ScaledClock(config.hub.clock_speed))
    directory = Path(data_dir if data_dir is not None else config.hub.data_dir)
    # once, at start, before anything else runs: a blocking call costs nothing here
    private_dir(directory)
    # the hub's store: the configured URL, or the SQLite file in the data directory; the
    # other durable parts keep their SQLite files beside ``database`` in the data directory,
    # or their tables in the store's PostgreSQL database (``POSTGRES``) when it is one
    database = directory / DATABASE
    url = config.hub.store
    store = SqliteStore(database) if url is None else open_store(url)
    # on PostgreSQL the parts keep their tables in the store's database, on its pool
    postgres = store.database if isinstance(store, PostgresStore) else None
    stop = stop or asyncio.Event()
    # no command goes before the access part guards the hub, nor after it stopped
    hub = Hub(store=store, clock=clock, gatekeeper=_Unguarded())
    async with hub:
        for home_config in config.homes:
            await hub.add_home(home_config.record())
            await hub.add_devices(home_config.device_records())
        context = Context(hub=hub, clock=clock, data=directory)
        context.provide(HUB_DATABASE, database)
        if postgres is not None:
            context.provide(POSTGRES, postgres)
        context.provide(AUTOMATION_FILES, automation_files)
        context.provide(DESCRIBED, OPERATIONS)
        if owner is not None:
            context.provide(OWNER, owner)
        bridge = _bridge(config)
        if bridge is not None:
            context.provide(MQTT_BRIDGE, bridge)
        async with compose(hub_parts(config), config, context):
            api_url = context.need(API_URL)
            (announce or _print_running)(
                Running(
                    api_url=api_url,
                    broker_url=redacted(context.need(BROKER).url),
                    database=database.resolve(),
                    homes=len(hub.homes()),
                    devices=len(hub.devices()),
                    setup_url=_setup_link(context.want(FIRST_RUN), api_url),
                    store=None if url is None else store_url(url),
                )
            )
            await _wait_for_stop(stop, duration)
            log.info("stopping")


class _Unguarded:
    """The gatekeeper of a hub whose access control is not running: nothing goes."""

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        return Decision(False, "access control is not running (the hub is starting or stopping)")


def mqtt_credentials(config: Config, directory: Path) -> Credentials:
    """The MQTT identities of the hub ``config`` describes, made or updated in ``directory``
    (existing passwords are kept; devices that are gone lose theirs)."""
    devices = [(h.id, d.id) for h in config.homes for d in h.devices if d.connector == "mqtt"]
    ha = config.homeassistant
    access = None if ha is None else HomeAssistantAccess(ha.bridge_id, ha.discovery_prefix)
    return Credentials.ensure(directory / CREDENTIALS_FILE, devices, home_assistant=access)


def _bridge(config: Config) -> BridgeLogin | None:
    """Who the Home Assistant bridge logs in as, when it is configured."""
    ha = config.homeassistant
    if ha is None:
        return None
    return BridgeLogin(ha.bridge_id, ha.discovery_prefix, (ha.username, ha.password))


def _setup_link(first_run: FirstRun | None, api_url: str) -> str | None:
    """The link that makes the first owner of a hub without members (logged, and printed by
    the announcement), or None."""
    if first_run is None:
        return None
    link = f"{api_url}/setup?code={first_run.code}"
    log.warning("no owner yet: make one at %s (setup code %s)", link, first_run.code)
    return link


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
    store = "" if running.store is None else f"\n  hub's store: {running.store}"
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
  data:        {running.database}{store}
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
    store: str | None = None,
) -> None:
    """``carhome demo``: the demo configuration, run until stopped or ``duration``; its hub's
    store at ``store`` (a URL) when given, else in ``data_dir``."""
    _configure_logging()
    config = demo_config(
        speed=speed, data_dir=data_dir, api_port=api_port, mqtt_port=mqtt_port, mqtt_url=mqtt_url
    )
    if store is not None:
        config = msgspec.structs.replace(config, hub=msgspec.structs.replace(config.hub, store=store))
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
