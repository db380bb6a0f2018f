"""The configuration file: decoded into typed structs, every mistake reported by file:line.

A config file is YAML::

    hub:   {data_dir: .carhome, clock_speed: 1}
    api:   {host: 127.0.0.1, port: 8123}
    mqtt:  {builtin: {host: 127.0.0.1, port: 1883}}     # or {url: mqtt://host:1883, username, password}
    homes: [{id, name, lat, lon, radius_m, timezone, places: [...], devices: [...]}]
    sim:   {enabled: false, homes: [home ids whose devices the simulator plays]}
    homeassistant: {member: owner, discovery_prefix: homeassistant}   # optional

``load_config`` parses the YAML, decodes it with msgspec (unknown keys are errors), then
checks what a schema cannot say (known device types, unique ids, a real timezone, one
broker). Each error is a ``ConfigError`` naming the file, the line of the offending key
(found by walking the YAML node tree along the error's path) and what is expected.
``examples/carhome.yaml`` is a documented example.
"""

from __future__ import annotations

import re
import urllib.parse
import zoneinfo
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
import yaml

from carhome.errors import ConfigError, InvalidName
from carhome.hub.model import Device, Home, Place, check_name
from carhome.spec import SPECS

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Radius = Annotated[float, msgspec.Meta(gt=0)]

MQTT_SCHEMES: Final = {"mqtt": 1883, "mqtts": 8883}


class HubConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = ".carhome"
    """Where the hub keeps its database; relative paths are relative to the config file."""
    clock_speed: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """Simulated time runs this many times faster than real time (1 = real time)."""


class ApiConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 8123


class BuiltinBroker(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 1883


class MqttConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Either the broker built into the hub (``builtin``) or an external one (``url``)."""

    builtin: BuiltinBroker | None = None
    url: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def broker(self) -> BuiltinBroker:
        """The built-in broker's address (the default when no ``url`` is given)."""
        return self.builtin or BuiltinBroker()

    @property
    def external(self) -> bool:
        return self.url is not None


class DeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    type: str
    name: str = ""
    room: str | None = None
    connector: str = "mqtt"

    def record(self, home: str) -> Device:
        return Device(
            home=home, id=self.id, type=self.type, name=self.name, room=self.room, connector=self.connector
        )


class HomeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str
    lat: Latitude
    lon: Longitude
    radius_m: Radius = 200.0
    timezone: str = "UTC"
    places: tuple[Place, ...] = ()
    devices: tuple[DeviceConfig, ...] = ()

    def record(self) -> Home:
        return Home(
            id=self.id,
            name=self.name,
            lat=self.lat,
            lon=self.lon,
            radius_m=self.radius_m,
            timezone=self.timezone,
            places=self.places,
        )

    def device_records(self) -> list[Device]:
        return [d.record(self.id) for d in self.devices]


class SimConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    homes: tuple[str, ...] = ()
    """Ids of the homes whose devices the simulator plays (all homes when empty)."""


class HomeAssistantConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Publish every home's devices to Home Assistant through MQTT discovery."""

    member: str
    """The member Home Assistant acts as: its commands pass the same access checks."""
    discovery_prefix: str = "homeassistant"
    bridge_id: str = "carhome"


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A whole configuration; every section has defaults, so an empty file is valid."""

    hub: HubConfig = HubConfig()
    api: ApiConfig = ApiConfig()
    mqtt: MqttConfig = MqttConfig()
    homes: tuple[HomeConfig, ...] = ()
    sim: SimConfig = SimConfig()
    homeassistant: HomeAssistantConfig | None = None

    def home_records(self) -> list[Home]:
        return [h.record() for h in self.homes]

    def device_records(self) -> list[Device]:
        return [d for h in self.homes for d in h.device_records()]


# -- loading ---------------------------------------------------------------------------

PathPart = str | int
_PATH_TOKEN: Final = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_FIELD_IN_MESSAGE: Final = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


class _Problem(Exception):
    """A config mistake at a path, before it has a file and line."""

    def __init__(self, path: Sequence[PathPart], message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path = tuple(path)
        self.message = message
        self.line = line


def load_config(path: str | Path) -> Config:
    """Read and check the config file at ``path``; ``ConfigError`` says where and why."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("the config file is not UTF-8 text", file=str(path)) from exc
    config = parse_config(text, file=str(path))
    data_dir = Path(config.hub.data_dir).expanduser()
    if not data_dir.is_absolute():
        # Relative to the file, not to wherever the hub happens to be started from.
        data_dir = path.resolve().parent / data_dir
    return msgspec.structs.replace(config, hub=msgspec.structs.replace(config.hub, data_dir=str(data_dir)))


def parse_config(text: str, *, file: str = "<config>") -> Config:
    """Parse and check config ``text``; errors name ``file`` and a line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file) from exc
    try:
        _check_duplicate_keys(root)
        if data is None:
            return Config()
        try:
            config = msgspec.convert(data, Config)
        except msgspec.ValidationError as exc:
            raise _from_validation(exc) from None
        _check(config)
    except _Problem as problem:
        line = problem.line or _line_of(root, problem.path)
        raise ConfigError(f"{_render(problem.path)}: {problem.message}", file=file, line=line) from None
    return config


def _from_validation(exc: msgspec.ValidationError) -> _Problem:
    message = str(exc)
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        reason, where = message, "$"
    path: list[PathPart] = [int(i) if i else k for k, i in _PATH_TOKEN.findall(where.rstrip("`"))]
    named = _FIELD_IN_MESSAGE.search(reason)
    if named is not None and reason.startswith("Object contains unknown"):
        # Point at the unknown key itself, not at the object holding it.
        path.append(named.group(1))
        reason = f"unknown key {named.group(1)!r}; allowed here: {_allowed_keys(path[:-1])}"
    elif named is not None:
        reason = f"missing required key {named.group(1)!r}"
    return _Problem(path, reason[:1].lower() + reason[1:])


def _allowed_keys(path: Sequence[PathPart]) -> str:
    """The keys the struct at ``path`` takes, for an unknown-key message."""
    kind: Any = Config
    for part in path:
        if isinstance(part, int):
            continue
        hint = {f.name: f.type for f in msgspec.structs.fields(kind)}.get(part)
        kind = _struct_in(hint)
        if kind is None:
            return "?"
    return ", ".join(f.name for f in msgspec.structs.fields(kind))


def _struct_in(hint: Any) -> Any:
    """The struct type inside a field's type (``X``, ``X | None``, ``tuple[X, ...]``)."""
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return hint
    for arg in getattr(hint, "__args__", ()):
        found = _struct_in(arg)
        if found is not None:
            return found
    return None


def _check(config: Config) -> None:
    """What the schema cannot say: ids, device types, timezones, one broker, loopback."""
    from carhome.api.server import is_loopback  # noqa: PLC0415 - config stays importable alone

    if not is_loopback(config.api.host):
        raise _Problem(
            ("api", "host"),
            f"{config.api.host!r} is not a loopback address; the"
            " local API has no authentication yet, so it listens on 127.0.0.1 only",
        )
    _check_mqtt(config.mqtt)
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


def _check_id(kind: str, value: str, path: tuple[PathPart, ...]) -> None:
    try:
        check_name(kind, value)
    except InvalidName as exc:
        raise _Problem(path, str(exc)) from None


def _check_mqtt(mqtt: MqttConfig) -> None:
    if mqtt.url is None:
        for key in ("username", "password"):
            if getattr(mqtt, key) is not None:
                raise _Problem(
                    ("mqtt", key),
                    f"{key} is for an external broker; it needs"
                    " mqtt.url (the built-in broker takes no login)",
                )
        return
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
        raise ValueError(f"{url!r} is not a broker URL; expected mqtt://host:port or mqtts://host:port")
    return url


def _check_duplicate_keys(node: yaml.Node | None) -> None:
    for mapping in _mappings(node):
        seen: set[str] = set()
        for key, _ in mapping.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise _Problem(
                        (key.value,),
                        "this key appears twice in the same mapping; the second would silently win",
                        key.start_mark.line + 1,
                    )
                seen.add(key.value)


def _mappings(node: yaml.Node | None) -> Iterator[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        yield node
        for key, value in node.value:
            yield from _mappings(key)
            yield from _mappings(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _mappings(item)


def _line_of(root: yaml.Node | None, path: Sequence[PathPart]) -> int | None:
    """The 1-based line of the node at ``path``: a key's own line, or an item's first line."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _render(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"
