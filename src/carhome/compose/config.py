"""The configuration file: decoded into typed structs, every mistake reported by file:line.

A config file is YAML::

    hub:   {data_dir: .carhome, clock_speed: 1, store: postgresql://…}   # store: optional URL
    api:   {host: 127.0.0.1, port: 8780, trusted_proxies: []}
    mqtt:  {builtin: {host: 127.0.0.1, port: 18830}}    # or {url: mqtt://host:1883, username, password}
                                                        # (the NATS server the hub runs, or a broker by URL)
    homes: [{id, name, lat, lon, radius_m, timezone, places: [...], devices: [...]}]
    sim:   {enabled: false, homes: [home ids whose devices the simulator plays]}
    homeassistant: {member: owner, discovery_prefix: homeassistant}   # optional (+ username,
                                                        # password: the bridge's login on mqtt.url)
    access: {require_signatures: true, access_token_minutes: 5}
    ocpp: {...}  charging: [...]  energy: [...]  miio: {devices: [...]}   # optional, see the example
    ovms: {url, cars: [...]}  tesla: {url, cars: [...]}                 # optional, see the example
    sunspec: {devices: [...]}  shelly: {url, devices: [...]}            # optional, see the example
    zigbee2mqtt: {home, url, base_topic, trusted_locks: [...]}          # optional, see the example
    fleet: {database, worker, partitions, heartbeat, idle_timeout, nats, nats_user, nats_password}
    automations: {files: [automation files or directories, relative to this file]}   # optional

``load_config`` decodes the YAML with ``carhome.yamlfile`` — the decoder automation files
use too — within ``carhome.boundedyaml.CONFIG`` (size, nesting, aliases): keys as written,
a key written twice refused, unknown keys refused. Then it checks what a schema cannot say
(known device types, unique ids, a real timezone, one broker). Each error is a
``ConfigError`` naming the file, the line of the offending key, its path and what is
expected.
``examples/carhome.yaml`` is a documented example.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Final

import msgspec

from carhome import boundedyaml, yamlfile
from carhome.access.config import AccessConfig
from carhome.api.config import ApiConfig
from carhome.automations.config import AutomationsConfig
from carhome.connectors.homeassistant.config import HomeAssistantConfig
from carhome.connectors.kuksa.config import KuksaConfig
from carhome.connectors.miio.config import MiioConfig
from carhome.connectors.mqtt.config import MqttConfig
from carhome.connectors.ocpp.config import OcppConfig
from carhome.connectors.ovms.config import OvmsConfig
from carhome.connectors.shelly.config import ShellyConfig
from carhome.connectors.sunspec.config import SunSpecConfig
from carhome.connectors.tesla.config import TeslaConfig
from carhome.connectors.zigbee2mqtt.config import Zigbee2MqttConfig
from carhome.energy.config import (
    ChargingConfig,
    DepartureConfig,
    EnergyConfig,
    TariffConfig,
    TouWindowConfig,
    clock_time,
    files_beside,
    weekly_days,
)
from carhome.errors import ConfigError, InvalidName
from carhome.fleet.config import FleetConfig
from carhome.hub.model import Device, Home, Place, check_name
from carhome.sim.config import SimConfig
from carhome.spec import SPECS
from carhome.sqlitefile import MEMORY
from carhome.store import check_store_url, sqlite_path

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Radius = Annotated[float, msgspec.Meta(gt=0)]

MQTT_SCHEMES: Final = {"mqtt": 1883, "mqtts": 8883}


class HubConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = ".carhome"
    """Where the hub keeps its database; relative paths are relative to the config file."""
    clock_speed: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """Simulated time runs this many times faster than real time (1 = real time)."""
    store: str | None = None
    """The URL of the hub's store (homes, devices, states, the command outbox):
    ``sqlite:///path`` (relative to the config file) or ``postgresql://user:password@host/db``;
    by default the SQLite file ``carhome.db`` in ``data_dir``. On PostgreSQL the history,
    automation timers and OCPP transactions are kept in its database too; members, the audit
    log, saved automations and keys stay in files in ``data_dir``."""


class DeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    type: str
    name: str = ""
    room: str | None = None
    connector: str = "mqtt"

    def record(self, home: str) -> Device:
        """The hub's record of this device in ``home``: every field of it."""
        return Device(home=home, **msgspec.structs.asdict(self))


class HomeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str
    lat: Latitude
    lon: Longitude
    radius_m: Radius = 200.0
    timezone: str = "UTC"
    places: tuple[Place, ...] = ()
    devices: tuple[DeviceConfig, ...] = ()

    @classmethod
    def of(cls, home: Home, devices: tuple[DeviceConfig, ...] = ()) -> HomeConfig:
        """The config of the hub's record ``home``, with ``devices``."""
        return cls(**msgspec.structs.asdict(home), devices=devices)

    def record(self) -> Home:
        """The hub's record of this home: every field but the devices."""
        return msgspec.convert(self, Home, from_attributes=True)

    def device_records(self) -> list[Device]:
        return [d.record(self.id) for d in self.devices]


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A whole configuration; every section has defaults, so an empty file is valid."""

    hub: HubConfig = HubConfig()
    api: ApiConfig = ApiConfig()
    mqtt: MqttConfig = MqttConfig()
    homes: tuple[HomeConfig, ...] = ()
    sim: SimConfig = SimConfig()
    homeassistant: HomeAssistantConfig | None = None
    access: AccessConfig = AccessConfig()
    ocpp: OcppConfig | None = None
    charging: tuple[ChargingConfig, ...] = ()
    energy: tuple[EnergyConfig, ...] = ()
    miio: MiioConfig | None = None
    kuksa: KuksaConfig | None = None
    ovms: OvmsConfig | None = None
    tesla: TeslaConfig | None = None
    sunspec: SunSpecConfig | None = None
    shelly: ShellyConfig | None = None
    zigbee2mqtt: Zigbee2MqttConfig | None = None
    fleet: FleetConfig | None = None
    automations: AutomationsConfig = AutomationsConfig()

    def home_records(self) -> list[Home]:
        return [h.record() for h in self.homes]

    def device_records(self) -> list[Device]:
        return [d for h in self.homes for d in h.device_records()]


# -- loading ---------------------------------------------------------------------------

PathPart = str | int


class _Problem(Exception):
    """A config mistake at a path, before it has a file and line."""

    def __init__(self, path: Sequence[PathPart], message: str) -> None:
        super().__init__(message)
        self.path = tuple(path)
        self.message = message


def load_config(path: str | Path) -> Config:
    """Read and check the config file at ``path``; ``ConfigError`` says where and why."""
    path = Path(path)
    try:
        text = boundedyaml.read_text(path, limits=boundedyaml.CONFIG)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("the config file is not UTF-8 text", file=str(path)) from exc
    config = parse_config(text, file=str(path))
    data_dir = Path(config.hub.data_dir).expanduser()
    if not data_dir.is_absolute():
        # Relative to the file, not to wherever the hub happens to be started from.
        data_dir = path.resolve().parent / data_dir
    config = _files_beside(config, path.resolve().parent)
    store = config.hub.store
    file = None if store is None else sqlite_path(store)
    if file is not None and file != MEMORY:
        # a SQLite file, like data_dir, relative to the config file
        store = f"sqlite:///{path.resolve().parent / Path(file).expanduser()}"
    hub = msgspec.structs.replace(config.hub, data_dir=str(data_dir), store=store)
    return msgspec.structs.replace(config, hub=hub)


def _files_beside(config: Config, base: Path) -> Config:
    """Make the ocpp, charging, miio and ovms sections' relative file paths relative to the config file."""

    def at(name: str | None) -> str | None:
        return None if name is None else str(base / Path(name).expanduser())

    replace = msgspec.structs.replace
    ocpp = config.ocpp
    if ocpp is not None:
        chargers = {k: replace(c, password_file=at(c.password_file)) for k, c in ocpp.chargers.items()}
        ocpp = replace(ocpp, chargers=chargers)
    charging = tuple(
        replace(c, solar_forecast=at(c.solar_forecast), tariff=replace(c.tariff, file=at(c.tariff.file)))
        for c in config.charging
    )
    miio = config.miio
    if miio is not None:
        devices = tuple(replace(d, token_file=at(d.token_file)) for d in miio.devices)
        miio = replace(miio, devices=devices)
    ovms = config.ovms
    if ovms is not None:
        ovms = replace(ovms, cars=tuple(replace(c, pin_file=at(c.pin_file)) for c in ovms.cars))
    energy = tuple(files_beside(e, at) for e in config.energy)
    automations = replace(config.automations, files=tuple(at(f) or f for f in config.automations.files))
    return replace(
        config, ocpp=ocpp, charging=charging, miio=miio, ovms=ovms, energy=energy, automations=automations
    )


def parse_config(text: str, *, file: str = "<config>") -> Config:
    """Parse and check config ``text``; errors name ``file`` and a line."""
    with yamlfile.decoding():
        parsed = yamlfile.parse(text, file=file, limits=boundedyaml.CONFIG)
        data = parsed.data()
        config = parsed.convert({} if data is None else data, Config)
    try:
        _check(config)
    except _Problem as problem:
        raise parsed.error(problem.path, problem.message) from None
    return config


def _check(config: Config) -> None:
    """What the schema cannot say: ids, device types, timezones, one broker, known miIO models."""
    _check_mqtt(config.mqtt, config.homeassistant)
    _check_proxies(config.api)
    _check_store(config.hub)
    _check_fleet(config.fleet)
    hub_devices = {(h.id, d.id): (d.type, d.connector) for h in config.homes for d in h.devices}
    sections = {
        "miio": config.miio,
        "ovms": config.ovms,
        "tesla": config.tesla,
        "sunspec": config.sunspec,
        "shelly": config.shelly,
    }
    for name, section in sections.items():
        if section is not None:
            for path, message in section.problems(hub_devices):
                raise _Problem((name, *path), message)
    homes: set[str] = set()
    for i, home in enumerate(config.homes):
        _check_id("home", home.id, ("homes", i, "id"))
        if home.id in homes:
            raise _Problem(("homes", i, "id"), f"home id {home.id!r} is used twice")
        homes.add(home.id)
        try:
            zoneinfo.ZoneInfo(home.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _Problem(
                ("homes", i, "timezone"),
                f"unknown timezone {home.timezone!r}; expected an IANA name such as 'Asia/Shanghai' or 'UTC'",
            ) from None
        devices: set[str] = set()
        for j, device in enumerate(home.devices):
            at = ("homes", i, "devices", j)
            _check_id("device", device.id, (*at, "id"))
            if device.id in devices:
                raise _Problem((*at, "id"), f"device id {device.id!r} is used twice in home {home.id!r}")
            devices.add(device.id)
            if device.type not in SPECS:
                raise _Problem(
                    (*at, "type"),
                    f"unknown device type {device.type!r}; known types: {', '.join(sorted(SPECS))}",
                )
            if not device.connector:
                raise _Problem((*at, "connector"), "connector must not be empty (e.g. 'mqtt')")
    for k, home_id in enumerate(config.sim.homes):
        if home_id not in homes:
            raise _Problem(
                ("sim", "homes", k),
                f"no home {home_id!r} in homes; known: {', '.join(sorted(homes)) or 'none'}",
            )
    _check_zigbee2mqtt(config)
    _check_ocpp(config)
    _check_unsigned_charging(config)
    _check_kuksa(config)
    _check_charging(config)
    _check_energy(config)


# -- the ocpp and charging sections ------------------------------------------------------

_CHARGER_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")


def _check_kuksa(config: Config) -> None:
    """Each KUKSA entry names a car of this configuration; each served car has its own port."""
    if config.kuksa is None:
        return
    ports: dict[tuple[str, int], int] = {}
    entries = [("serve", i, e.home, e.device) for i, e in enumerate(config.kuksa.serve)]
    entries += [("databrokers", i, e.home, e.device) for i, e in enumerate(config.kuksa.databrokers)]
    for part, i, home, device in entries:
        found = _device_type(config, home, device)
        if found is None or found.type != "car":
            raise _Problem(
                ("kuksa", part, i, "device"),
                f"{home}/{device} is not a car of this configuration;"
                f" cars: {_known_devices(config, home, 'car')}",
            )
    for i, served in enumerate(config.kuksa.serve):
        key = (served.host, served.port)
        if served.port and key in ports:
            raise _Problem(
                ("kuksa", "serve", i, "port"),
                f"port {served.port} serves another car already (entry {ports[key]}): one car per port",
            )
        ports[key] = i


def _device_type(config: Config, home: str, device: str) -> DeviceConfig | None:
    for h in config.homes:
        if h.id == home:
            return next((d for d in h.devices if d.id == device), None)
    return None


def _known_devices(config: Config, home: str, kind: str) -> str:
    names = [d.id for h in config.homes if h.id == home for d in h.devices if d.type == kind]
    return ", ".join(names) or "none"


def _check_ocpp(config: Config) -> None:
    if config.ocpp is None:
        return
    homes = {h.id for h in config.homes}
    claimed: dict[tuple[str, str], str] = {}
    for cid, charger in config.ocpp.chargers.items():
        at: tuple[PathPart, ...] = ("ocpp", "chargers", cid)
        if not _CHARGER_ID.fullmatch(cid):
            raise _Problem(at, f"charger id {cid!r} is not valid: use 1-48 letters, digits, '.', '_' or '-'")
        if charger.home not in homes:
            raise _Problem(
                (*at, "home"), f"no home {charger.home!r} in homes; known: {', '.join(sorted(homes))}"
            )
        device = _device_type(config, charger.home, charger.device)
        if device is None or device.type != "wallbox":
            raise _Problem(
                (*at, "device"),
                f"{charger.home}/{charger.device} is not a wallbox of this configuration;"
                f" wallboxes there: {_known_devices(config, charger.home, 'wallbox')}",
            )
        if device.connector != "ocpp":
            raise _Problem(
                (*at, "device"),
                f"{charger.home}/{charger.device} has connector {device.connector!r};"
                " give the device `connector: ocpp` so its commands go to the charger",
            )
        if (charger.home, charger.device) in claimed:
            raise _Problem(
                (*at, "device"),
                f"{charger.device} is already charger {claimed[(charger.home, charger.device)]!r}",
            )
        claimed[(charger.home, charger.device)] = cid
        if (charger.password is None) == (charger.password_file is None):
            raise _Problem(at, "give the charger's password or password_file (one of them)")
        if charger.password is not None and not 16 <= len(charger.password) <= 40:
            raise _Problem(
                (*at, "password"), "an OCPP password has 16 to 40 characters (OCPP security profile 1)"
            )
    for tag, member in config.ocpp.id_tokens.items():
        if not tag or not member:
            raise _Problem(("ocpp", "id_tokens", tag), "an id token and its member must not be empty")


def _check_zigbee2mqtt(config: Config) -> None:
    if config.zigbee2mqtt is not None:
        for path, message in config.zigbee2mqtt.problems({h.id for h in config.homes}):
            raise _Problem(("zigbee2mqtt", *path), message)


def _check_unsigned_charging(config: Config) -> None:
    homes = [h.id for h in config.homes]
    for i, entry in enumerate(config.access.unsigned_charging):
        at: tuple[PathPart, ...] = ("access", "unsigned_charging", i)
        home = entry.home if entry.home is not None else (homes[0] if len(homes) == 1 else "")
        device = _device_type(config, home, entry.device)
        # an OVMS module cannot verify signatures either: its car may be trusted for charging
        ovms_car = device is not None and device.type == "car" and device.connector == "ovms"
        if device is None or (device.type != "wallbox" and not ovms_car):
            raise _Problem(
                (*at, "device"),
                f"{home or '(name the home)'}/{entry.device} is not a wallbox (nor a car with connector"
                f" ovms) of this configuration; wallboxes: {_known_devices(config, home, 'wallbox')}",
            )


def _check_charging(config: Config) -> None:
    if config.fleet is not None:
        return  # a fleet's homes are in its database: each partition binds its cars' entries
    homes = [h.id for h in config.homes]
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(config.charging):
        at: tuple[PathPart, ...] = ("charging", i)
        home = entry.home if entry.home is not None else (homes[0] if len(homes) == 1 else None)
        if home is None or home not in homes:
            raise _Problem(
                (*at, "home"),
                f"name the car's home; homes: {', '.join(homes) or 'none (add one under homes)'}",
            )
        car = _device_type(config, home, entry.car)
        if car is None or car.type != "car":
            raise _Problem(
                (*at, "car"),
                f"{home}/{entry.car} is not a car; cars there: {_known_devices(config, home, 'car')}",
            )
        if (home, entry.car) in seen:
            raise _Problem((*at, "car"), f"{home}/{entry.car} has a charging section already")
        seen.add((home, entry.car))
        if entry.charger is not None:
            charger = _device_type(config, home, entry.charger)
            if charger is None or charger.type != "wallbox":
                raise _Problem(
                    (*at, "charger"),
                    f"{home}/{entry.charger} is not a wallbox; wallboxes there:"
                    f" {_known_devices(config, home, 'wallbox')}",
                )
        if entry.limit is not None and entry.limit < entry.target:
            raise _Problem(
                (*at, "limit"), f"the limit {entry.limit:g} % is below the target {entry.target:g} %"
            )
        if entry.min_current > entry.max_current:
            raise _Problem(
                (*at, "min_current"),
                f"min_current {entry.min_current:g} A is above max_current {entry.max_current:g} A",
            )
        _check_departure(entry.departure, (*at, "departure"))
        _check_tariff(entry.tariff, (*at, "tariff"), _zone_of(config, home))


def _check_energy(config: Config) -> None:
    """Each energy entry names a home once and devices of it; charging lines exist there."""
    homes = [h.id for h in config.homes]
    lines: dict[str, set[str]] = {}
    for i, entry in enumerate(config.energy):
        at: tuple[PathPart, ...] = ("energy", i)
        home = entry.home if entry.home is not None else (homes[0] if len(homes) == 1 else None)
        if home is None or home not in homes:
            raise _Problem((*at, "home"), f"name the home; homes: {', '.join(homes) or 'none'}")
        if home in lines:
            raise _Problem((*at, "home"), f"{home} has an energy section already")
        lines[home] = set(entry.connections)
        grid = entry.grid
        devices = [] if grid is None else [("meter", grid.meter)]
        if grid is not None and grid.inverter is not None:
            devices.append(("inverter", grid.inverter.device))
        for key, device in devices:
            if _device_type(config, home, device) is None:
                raise _Problem((*at, "grid", key), f"{home}/{device} is not a device of this configuration")
    for i, charging in enumerate(config.charging):
        home = charging.home or (homes[0] if len(homes) == 1 else "")
        if charging.connection is not None and charging.connection not in lines.get(home, set()):
            known = ", ".join(sorted(lines.get(home, set()))) or "none"
            raise _Problem(
                ("charging", i, "connection"),
                f"no connection {charging.connection!r} in {home}'s energy section; connections: {known}",
            )


def _zone_of(config: Config, home: str) -> str:
    return next(h.timezone for h in config.homes if h.id == home)


def _check_departure(departure: DepartureConfig, at: tuple[PathPart, ...]) -> None:
    from datetime import datetime  # noqa: PLC0415 - only this check parses times

    if (departure.weekly is None) == (departure.at is None):
        raise _Problem(at, "give weekly times (e.g. weekly: {weekdays: '08:00'}) or one time (at: …)")
    if departure.weekly is not None:
        try:
            if not weekly_days(departure.weekly):
                raise ValueError("give at least one day, e.g. weekdays: '08:00'")
        except ValueError as exc:
            raise _Problem((*at, "weekly"), str(exc)) from None
        return
    try:
        when = datetime.fromisoformat(str(departure.at))
    except ValueError:
        raise _Problem((*at, "at"), f"{departure.at!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise _Problem((*at, "at"), f"{departure.at!r} needs an offset, e.g. 2026-05-01T07:30:00+08:00")


def _check_tariff(tariff: TariffConfig, at: tuple[PathPart, ...], zone: str) -> None:
    from carhome.prices.tariffs import TimeOfUseTariff, TouWindow  # noqa: PLC0415 - config stays light

    given = [k for k in ("fixed", "time_of_use", "file") if getattr(tariff, k) is not None]
    if len(given) != 1:
        raise _Problem(at, "give exactly one of fixed, time_of_use or file")
    if tariff.weekend is not None and tariff.time_of_use is None:
        raise _Problem((*at, "weekend"), "weekend windows go with time_of_use windows")
    if tariff.time_of_use is None:
        return
    import datetime as dt  # noqa: PLC0415

    def windows(key: str, items: tuple[TouWindowConfig, ...]) -> tuple[TouWindow, ...]:
        out = []
        for j, w in enumerate(items):
            try:
                start, end = clock_time(w.start), clock_time(w.end)
            except ValueError as exc:
                raise _Problem((*at, key, j), str(exc)) from None
            out.append(TouWindow(dt.time(*start), dt.time(*end), w.price))
        return tuple(out)

    week = windows("time_of_use", tariff.time_of_use)
    weekend = None if tariff.weekend is None else windows("weekend", tariff.weekend)
    try:
        TimeOfUseTariff(week, zoneinfo.ZoneInfo(zone), weekend)
    except ConfigError as exc:
        raise _Problem((*at, "time_of_use"), exc.reason) from None


def _check_id(kind: str, value: str, path: tuple[PathPart, ...]) -> None:
    try:
        check_name(kind, value)
    except InvalidName as exc:
        raise _Problem(path, str(exc)) from None


def _check_store(hub: HubConfig) -> None:
    if hub.store is not None:
        try:
            check_store_url(hub.store)
        except ConfigError as exc:
            raise _Problem(("hub", "store"), str(exc)) from None


def _check_fleet(fleet: FleetConfig | None) -> None:
    if fleet is None:
        return
    if not fleet.database.startswith(("postgresql://", "postgres://")):
        raise _Problem(
            ("fleet", "database"),
            "a fleet keeps its homes in PostgreSQL: give postgresql://user@host:port/database",
        )
    if not fleet.worker.isprintable():
        raise _Problem(("fleet", "worker"), "a worker id is printable characters only")
    if fleet.heartbeat > fleet.idle_timeout / 2:
        raise _Problem(
            ("fleet", "heartbeat"),
            f"give at most half of idle_timeout ({fleet.idle_timeout} s), so one late heartbeat does not"
            " end the worker's session",
        )
    for i, url in enumerate(fleet.nats):
        if not url.startswith(("nats://", "tls://")):
            raise _Problem(("fleet", "nats", i), "give a NATS URL: nats://host:4222 (or tls://)")
    if fleet.nats and fleet.nats_password is None:
        raise _Problem(
            ("fleet", "nats_password"),
            f"give the password of the NATS user {fleet.nats_user!r}, which reads the partitions' logs",
        )


def _check_proxies(api: ApiConfig) -> None:
    for i, proxy in enumerate(api.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise _Problem(
                ("api", "trusted_proxies", i),
                f"{proxy!r} is not an address or network; e.g. 127.0.0.1 or 10.0.0.0/8",
            ) from None


def _check_mqtt(mqtt: MqttConfig, ha: HomeAssistantConfig | None) -> None:
    if mqtt.url is None:
        for section, key in (
            ("mqtt", "username"),
            ("mqtt", "password"),
            ("homeassistant", "username"),
            ("homeassistant", "password"),
        ):
            if getattr(mqtt if section == "mqtt" else ha, key, None) is not None:
                raise _Problem(
                    (section, key),
                    f"{key} is for an external broker; it needs mqtt.url (the built-in"
                    " broker makes a login for the hub, its bridge and each device itself)",
                )
        return
    if ha is not None and ha.username is None and mqtt.username is not None:
        raise _Problem(
            ("homeassistant",),
            "give the Home Assistant bridge its own MQTT login (homeassistant.username and"
            " password), not the hub's: a broker that takes the username as client id drops"
            " one for the other. `carhome mqtt credentials --config FILE --show"
            f" carhome-ha-{ha.bridge_id}` prints the one made for Mosquitto",
        )
    if ha is not None and ha.username is not None and ha.username == mqtt.username:
        raise _Problem(
            ("homeassistant", "username"),
            "the bridge's username is the hub's (mqtt.username): give each its own, or a"
            " broker that takes the username as client id drops one for the other",
        )
    if mqtt.builtin is not None:
        raise _Problem(("mqtt", "url"), "give either mqtt.builtin or mqtt.url, not both")
    try:
        check_broker_url(mqtt.url)
    except ValueError as exc:
        raise _Problem(("mqtt", "url"), str(exc)) from None


def check_broker_url(url: str) -> str:
    """Return ``url`` if it is ``mqtt://host[:port]`` or ``mqtts://…``, else ``ValueError``."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in MQTT_SCHEMES
        or not parts.hostname
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"{redacted(url)!r} is not a broker URL; expected mqtt://host:port or mqtts://host:port"
        )
    return url


def redacted(url: str) -> str:
    """``url`` fit to print or log: a password in it becomes ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
        parts = None
    if parts is None or password is None:
        # Not parsed, or no password: still never echo anything between "//" and "@".
        return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", url)
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))
