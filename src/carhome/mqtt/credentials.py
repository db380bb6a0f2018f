"""Who may connect to carhome's MQTT broker, and what each one may publish and read.

Every client has its own identity: one per device (username ``{home}/{device}``), one for
the hub's connector, and — when Home Assistant is configured — one for the hub's Home
Assistant bridge and one for Home Assistant itself. Each identity has a strong random
password and a set of ``Rule``\\ s derived from the topic convention (``topics``):

- a device writes its own ``state``, ``event``, ``ack`` and ``status`` (and the replies to
  key asks) and reads only its own ``cmd`` (and key asks, and asks to re-send its state);
- the hub reads every device's ``state|event|ack|status`` (and replies), writes every
  ``cmd`` (and key ask, and ``resend`` ask) and its own ``carhome-hub/{hub_id}/status``; it
  may subscribe all of those reports with the one filter ``#`` (``Access.SUBSCRIBE``), of
  which it still receives only what it reads (``AclTable.hidden``: every other identity's
  writes that none of its reads covers);
- the bridge writes discovery configs and the ``…/ha/state|availability`` topics (and the
  ``…/ha/location|result`` some entities have of their own) and reads Home Assistant's
  commands and status;
- Home Assistant reads what the bridge writes and writes its commands and status.

``AclTable`` is the one source of truth for both brokers: ``nats`` turns it into the
built-in NATS server's users and permissions; ``write_mosquitto`` turns the same table
into a ``password_file``, an ``acl_file`` and a ``mosquitto.conf`` for an external
Mosquitto (without the ``SUBSCRIBE`` rules, which its ACL file cannot say apart from
``read``: Mosquitto checks every message it delivers against the ``read`` rules, and the
hub subscribes kind by kind there). The credentials live in one file in the hub's data
directory, readable by its owner only (0600). Passwords never appear in a ``repr``, a log line or an error.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import secrets
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple, TypeVar

import msgspec

from carhome.errors import ConfigError
from carhome.files import write_atomically
from carhome.hub.model import check_name
from carhome.mqtt import discovery_topics as ha_topics
from carhome.mqtt.topics import EVERY_TOPIC, ROOT, Kind, hub_heartbeat_topic, hub_status_topic

log: Final = logging.getLogger(__name__)

CREDENTIALS_FILE: Final = "mqtt-credentials.json"
"""The credentials file's name in the hub's data directory."""
HUB_ID: Final = "carhome-hub"
"""The hub connector's default id (its username and the middle of its status topic)."""
HOME_ASSISTANT_USER: Final = "homeassistant"

MAX_MESSAGE: Final = 1024 * 1024
"""The largest MQTT message a broker carhome sets up takes (bytes); larger ones are refused.
carhome's biggest messages (Home Assistant discovery of a large device, signed commands)
are a few kilobytes."""

_PASSWORD_BYTES: Final = 32  # 256 bits: guessing is hopeless, so no stretching is needed
# Mosquitto's own default (mosquitto_passwd). The passwords are random 256-bit secrets, not
# words a person chose: more PBKDF2 rounds would only cost the broker CPU on every connect.
_PBKDF2_ROUNDS: Final = 101
_SALT_BYTES: Final = 12
_FORMAT: Final = 1


# Which way each kind of device topic flows. Listed by value, so a kind added to ``Kind``
# gets no rule (nobody may use it) until it is placed here.
_UP: Final = ("state", "event", "ack", "status", "session_reply", "enroll_reply")  # device → hub
_DOWN: Final = ("cmd", "session", "enroll", "resend")  # hub → device
FROM_DEVICE: Final = tuple(k for k in Kind if k.value in _UP)
TO_DEVICE: Final = tuple(k for k in Kind if k.value in _DOWN)


class Access(enum.StrEnum):
    """What a rule lets an identity do with the topics its filter matches."""

    READ = "read"  # subscribe to them and receive them
    WRITE = "write"  # publish to them (will messages included)
    SUBSCRIBE = "subscribe"
    """Subscribe with this filter, and receive of it only what a ``READ`` rule allows: one
    subscription where several would do. The NATS server caps a client's QoS 1 messages in
    flight per session but lets each QoS 1 subscription have as many out, so several busy
    ones stall it (see ``carhome.connectors.mqtt.connector``)."""


class Rule(NamedTuple):
    access: Access
    filter: str


# -- identities ----------------------------------------------------------------------------


class _Identity(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="role"):
    username: str
    password: str

    def __repr__(self) -> str:
        # The password must never reach a log line or a traceback.
        return f"{type(self).__name__}(username={self.username!r}, password='***')"

    def rules(self) -> tuple[Rule, ...]:
        raise NotImplementedError


class DeviceIdentity(_Identity, frozen=True, tag="device"):
    """One device: writes its own state, event, ack, status; reads its own commands."""

    home: str
    device: str

    def __post_init__(self) -> None:
        # Checked on load too: an id with a wildcard would widen the device's rules.
        check_name("home", self.home)
        check_name("device", self.device)
        if self.username != device_username(self.home, self.device):
            raise ValueError(f"a device's username must be {device_username(self.home, self.device)!r}")

    def rules(self) -> tuple[Rule, ...]:
        own = f"{ROOT}/{self.home}/{self.device}"
        return (
            *(Rule(Access.WRITE, f"{own}/{kind.value}") for kind in FROM_DEVICE),
            *(Rule(Access.READ, f"{own}/{kind.value}") for kind in TO_DEVICE),
        )


class HubIdentity(_Identity, frozen=True, tag="hub"):
    """The hub's MQTT connector: every device's reports in, every command out."""

    hub_id: str

    def __post_init__(self) -> None:
        check_name("hub", self.hub_id)
        check_name("hub username", self.username)

    def rules(self) -> tuple[Rule, ...]:
        return (
            *(Rule(Access.READ, kind.filter) for kind in FROM_DEVICE),
            *(Rule(Access.WRITE, kind.filter) for kind in TO_DEVICE),
            # every report with one subscription; what it does not read (the commands it
            # writes, Home Assistant's topics) is kept away from it
            Rule(Access.SUBSCRIBE, EVERY_TOPIC),
            Rule(Access.WRITE, hub_status_topic(self.hub_id)),
            # its heartbeat, sent to itself through the broker (the hub knows it still hears)
            Rule(Access.WRITE, hub_heartbeat_topic(self.hub_id)),
            Rule(Access.READ, hub_heartbeat_topic(self.hub_id)),
        )


class _HomeAssistantSide(_Identity, frozen=True):
    bridge_id: str
    discovery_prefix: str

    def __post_init__(self) -> None:
        check_name("bridge", self.bridge_id)
        check_name("username", self.username)
        _check_prefix(self.discovery_prefix)


class BridgeIdentity(_HomeAssistantSide, frozen=True, tag="bridge"):
    """The hub's Home Assistant bridge: discovery and ``…/ha/…`` state out, commands in."""

    def rules(self) -> tuple[Rule, ...]:
        prefix = self.discovery_prefix
        return (
            Rule(Access.WRITE, ha_topics.config_filter(prefix)),
            Rule(Access.READ, ha_topics.config_filter(prefix)),  # its own retained configs
            Rule(Access.WRITE, ha_topics.state_topic("+", "+")),
            Rule(Access.WRITE, ha_topics.availability_topic("+", "+")),
            *(Rule(Access.WRITE, ha_topics.own_topic("+", "+", leaf)) for leaf in ha_topics.OWN_LEAVES),
            Rule(Access.WRITE, ha_topics.bridge_status_topic(self.bridge_id)),
            Rule(Access.READ, ha_topics.ha_status_topic(prefix)),
            Rule(Access.READ, ha_topics.COMMAND_FILTER),
        )


class HomeAssistantIdentity(_HomeAssistantSide, frozen=True, tag="home_assistant"):
    """Home Assistant: reads discovery and the bridge's topics, writes commands and its status."""

    def rules(self) -> tuple[Rule, ...]:
        prefix = self.discovery_prefix
        return (
            Rule(Access.READ, f"{prefix}/#"),
            Rule(Access.READ, ha_topics.state_topic("+", "+")),
            Rule(Access.READ, ha_topics.availability_topic("+", "+")),
            *(Rule(Access.READ, ha_topics.own_topic("+", "+", leaf)) for leaf in ha_topics.OWN_LEAVES),
            Rule(Access.READ, ha_topics.bridge_status_topic(self.bridge_id)),
            Rule(Access.WRITE, ha_topics.ha_status_topic(prefix)),
            Rule(Access.WRITE, ha_topics.COMMAND_FILTER),
        )


Identity = DeviceIdentity | HubIdentity | BridgeIdentity | HomeAssistantIdentity
_I = TypeVar("_I", bound=_Identity)


class HomeAssistantAccess(NamedTuple):
    """Home Assistant is configured: its bridge and Home Assistant get identities too."""

    bridge_id: str = "carhome"
    discovery_prefix: str = "homeassistant"


class _File(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    identities: list[Identity]


# -- topic matching --------------------------------------------------------------------------


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` by MQTT's rules (``$`` topics included)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False  # [MQTT-4.7.2-1]: wildcards at the first level never match $ topics
    levels = topic.split("/")
    wanted = topic_filter.split("/")
    for i, level in enumerate(wanted):
        if level == "#":
            return True
        if i >= len(levels) or level not in ("+", levels[i]):
            return False
    return len(wanted) == len(levels)


def filter_covers(rule: str, topic_filter: str) -> bool:
    """Whether every topic ``topic_filter`` can match is matched by ``rule`` too.

    A subscription is allowed only if its filter is covered: ``carhome/h1/car/cmd`` is
    covered by itself, ``carhome/+/+/cmd`` is not covered by ``carhome/h1/car/cmd``, and
    ``#`` is covered by nothing but ``#``.
    """
    ours = rule.split("/")
    theirs = topic_filter.split("/")
    if theirs[0].startswith("$") and ours[0] in ("+", "#"):
        return False  # the rule's first-level wildcard never reaches $ topics
    for i, level in enumerate(ours):
        if level == "#":
            return True
        if i >= len(theirs) or theirs[i] == "#":
            return False
        if level != "+" and theirs[i] != level:
            return False
    return len(ours) == len(theirs)


def filters_overlap(a: str, b: str) -> bool:
    """Whether some topic matches both filters ``a`` and ``b``."""
    ours, theirs = a.split("/"), b.split("/")
    for x, y in zip(ours, theirs, strict=False):
        if "#" in (x, y):
            return True
        if x != y and "+" not in (x, y):
            return False
    rest = ours[len(theirs) :] + theirs[len(ours) :]
    return not rest or rest[0] == "#"  # `a/#` matches `a` too


class AclTable:
    """Each username's rules; asked on every publish, subscribe and delivery.

    Nothing is allowed unless a rule allows it; a username the table does not know (or
    none: an anonymous client) is allowed nothing.
    """

    def __init__(self, rules: Mapping[str, Iterable[Rule]]) -> None:
        self._rules = {user: tuple(r) for user, r in rules.items()}
        # Devices publish to a few exact topics many times a second: a set lookup first.
        self._exact: dict[str, frozenset[str]] = {}
        self._writes: dict[str, tuple[str, ...]] = {}
        self._reads: dict[str, tuple[str, ...]] = {}
        self._wide: dict[str, tuple[str, ...]] = {}
        for user, user_rules in self._rules.items():
            writes = [r.filter for r in user_rules if r.access is Access.WRITE]
            self._exact[user] = frozenset(f for f in writes if not _wild(f))
            self._writes[user] = tuple(f for f in writes if _wild(f))
            self._reads[user] = tuple(r.filter for r in user_rules if r.access is Access.READ)
            self._wide[user] = tuple(r.filter for r in user_rules if r.access is Access.SUBSCRIBE)
        self._hidden = {user: self._hide(user) for user in self._rules}

    def __contains__(self, username: object) -> bool:
        return username in self._rules

    def users(self) -> list[str]:
        return sorted(self._rules)

    def rules(self, username: str) -> tuple[Rule, ...]:
        return self._rules.get(username, ())

    def may_publish(self, username: str | None, topic: str) -> bool:
        if username is None or _wild(topic):
            return False
        if topic in self._exact.get(username, ()):
            return True
        return any(topic_matches(f, topic) for f in self._writes.get(username, ()))

    def may_subscribe(self, username: str | None, topic_filter: str) -> bool:
        if username is None:
            return False
        if any(filter_covers(f, topic_filter) for f in self._reads.get(username, ())):
            return True
        return any(filter_covers(f, topic_filter) for f in self._wide.get(username, ())) and not any(
            filter_covers(f, topic_filter) for f in self._hidden.get(username, ())
        )

    def hidden(self, username: str) -> tuple[str, ...]:
        """What ``username``'s ``SUBSCRIBE`` filters match but it may not receive: the
        filters others write under them that none of its ``READ`` rules covers. A broker
        keeps these away from its subscriptions (NATS: a subscribe deny clause)."""
        return self._hidden.get(username, ())

    def _hide(self, username: str) -> tuple[str, ...]:
        wide, reads = self._wide[username], self._reads[username]
        if not wide:  # no filter wider than its reads (every device): nothing to hide, no scan of all rules
            return ()
        return tuple(
            sorted(
                {
                    rule.filter
                    for user_rules in self._rules.values()
                    for rule in user_rules
                    if rule.access is Access.WRITE
                    and any(filters_overlap(rule.filter, f) for f in wide)
                    and not any(filter_covers(f, rule.filter) for f in reads)
                }
            )
        )

    def may_receive(self, username: str | None, topic: str) -> bool:
        if username is None:
            return False
        return any(topic_matches(f, topic) for f in self._reads.get(username, ()))


def _wild(topic: str) -> bool:
    return "+" in topic or "#" in topic


# -- the credentials --------------------------------------------------------------------------


class Credentials:
    """Every identity of one hub, by username; made, loaded and saved as a whole."""

    def __init__(self, identities: Iterable[Identity]) -> None:
        self._by_user: dict[str, Identity] = {}
        for identity in identities:
            if identity.username in self._by_user:
                raise ConfigError(f"MQTT username {identity.username!r} appears twice; each must be unique")
            self._by_user[identity.username] = identity
        self._digests = {u: _digest(i.password) for u, i in self._by_user.items()}

    def __repr__(self) -> str:
        return f"Credentials({len(self._by_user)} identities)"

    def __len__(self) -> int:
        return len(self._by_user)

    @property
    def identities(self) -> tuple[Identity, ...]:
        return tuple(self._by_user.values())

    # -- making ----------------------------------------------------------------------------

    @classmethod
    def make(
        cls,
        devices: Iterable[tuple[str, str]],
        *,
        hub_id: str = HUB_ID,
        home_assistant: HomeAssistantAccess | None = None,
        keep: Credentials | None = None,
    ) -> Credentials:
        """Identities for ``devices`` (home, device), the hub and Home Assistant if given.

        An identity that ``keep`` already has, with the same rights, keeps its password,
        so devices already provisioned stay connected; every other gets a new one.
        """
        check_name("hub", hub_id)
        wanted: list[Identity] = [HubIdentity(username=hub_id, password="", hub_id=hub_id)]
        for home, device in devices:
            check_name("home", home)
            check_name("device", device)
            wanted.append(
                DeviceIdentity(username=device_username(home, device), password="", home=home, device=device)
            )
        if home_assistant is not None:
            check_name("bridge", home_assistant.bridge_id)
            prefix = _check_prefix(home_assistant.discovery_prefix)
            wanted += [
                BridgeIdentity(
                    username=f"carhome-ha-{home_assistant.bridge_id}",
                    password="",
                    bridge_id=home_assistant.bridge_id,
                    discovery_prefix=prefix,
                ),
                HomeAssistantIdentity(
                    username=HOME_ASSISTANT_USER,
                    password="",
                    bridge_id=home_assistant.bridge_id,
                    discovery_prefix=prefix,
                ),
            ]
        old = {} if keep is None else keep._by_user
        made = []
        for identity in wanted:
            before = old.get(identity.username)
            same = before is not None and msgspec.structs.replace(before, password="") == identity
            password = before.password if same and before is not None else new_password()
            made.append(msgspec.structs.replace(identity, password=password))
        return cls(made)

    @classmethod
    def ensure(
        cls,
        path: Path,
        devices: Iterable[tuple[str, str]],
        *,
        hub_id: str = HUB_ID,
        home_assistant: HomeAssistantAccess | None = None,
    ) -> Credentials:
        """The credentials at ``path`` brought up to date with the hub's devices; saved if changed.

        Existing passwords are kept; new devices get new ones; devices gone lose theirs.
        """
        old = cls.load(path) if path.exists() else None
        made = cls.make(devices, hub_id=hub_id, home_assistant=home_assistant, keep=old)
        if old is None or old.identities != made.identities:
            made.save(path)
            log.info("MQTT credentials: %d identities in %s", len(made), path)
        return made

    # -- the file ----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Credentials:
        """Read a credentials file; ``ConfigError`` if it is missing, unreadable or malformed."""
        try:
            mode = path.stat().st_mode
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the MQTT credentials: {exc.strerror}", file=str(path)) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Someone loosened it; the passwords may have been read. Close it again and say so.
            log.warning("%s was readable by others; set to 0600 (consider new passwords)", path)
            path.chmod(0o600)
        try:
            data = msgspec.json.decode(raw, type=_File)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"the MQTT credentials file is not valid: {exc}", file=str(path)) from None
        except msgspec.DecodeError:
            raise ConfigError("the MQTT credentials file is not JSON", file=str(path)) from None
        if data.version != _FORMAT:
            raise ConfigError(
                f"the MQTT credentials file has format {data.version}; this carhome reads {_FORMAT}",
                file=str(path),
            )
        return cls(data.identities)

    def save(self, path: Path) -> None:
        """Write the file readable by its owner only, atomically (a crash leaves the old one)."""
        payload = msgspec.json.format(msgspec.json.encode(_File(_FORMAT, list(self.identities))))
        write_atomically(path, payload + b"\n")

    # -- asking -------------------------------------------------------------------------------

    def get(self, username: str) -> Identity | None:
        return self._by_user.get(username)

    def device(self, home: str, device: str) -> DeviceIdentity:
        """The identity of a device; ``KeyError`` names it if there is none."""
        found = self._by_user.get(device_username(home, device))
        if not isinstance(found, DeviceIdentity):
            raise KeyError(f"no MQTT identity for device {home}/{device}; is it in the configuration?")
        return found

    def hub(self) -> HubIdentity:
        return self._only(HubIdentity)

    def bridge(self) -> BridgeIdentity:
        return self._only(BridgeIdentity)

    def home_assistant(self) -> HomeAssistantIdentity:
        return self._only(HomeAssistantIdentity)

    def _only(self, kind: type[_I]) -> _I:
        for identity in self._by_user.values():
            if isinstance(identity, kind):
                return identity
        raise KeyError(f"no MQTT identity of kind {kind.__name__}")

    def check(self, username: str | None, password: str | bytes | None) -> bool:
        """Whether ``password`` is ``username``'s, in time independent of where they differ."""
        if username is None or password is None:
            return False
        expected = self._digests.get(username)
        given = _digest(password)
        # Compare even for an unknown user, so timing does not tell which names exist.
        return hmac.compare_digest(expected or _digest(""), given) and expected is not None

    def acl(self) -> AclTable:
        """The rules of every identity: the one table both brokers enforce."""
        return AclTable({u: i.rules() for u, i in self._by_user.items()})


def device_username(home: str, device: str) -> str:
    return f"{home}/{device}"


def new_password() -> str:
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def _digest(password: str | bytes) -> bytes:
    raw = password.encode() if isinstance(password, str) else password
    return hashlib.sha256(raw).digest()


def _check_prefix(prefix: str) -> str:
    levels = prefix.split("/")
    if not prefix or prefix.startswith("$") or any(not lv or _wild(lv) for lv in levels):
        raise ConfigError(
            f"discovery prefix {prefix!r} is not valid: use topic levels without wildcards,"
            " e.g. 'homeassistant'"
        )
    return prefix


# -- Mosquitto ----------------------------------------------------------------------------------


def mosquitto_hash(password: str, *, salt: bytes | None = None, rounds: int = _PBKDF2_ROUNDS) -> str:
    """A ``password_file`` hash in Mosquitto 2's ``$7$`` format (PBKDF2-SHA512)."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds)
    return f"$7${rounds}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_password_file(credentials: Credentials) -> str:
    return "".join(f"{i.username}:{mosquitto_hash(i.password)}\n" for i in credentials.identities)


def mosquitto_acl_file(acl: AclTable) -> str:
    """``user`` blocks, one per identity, with exactly the table's rules."""
    lines = ["# carhome: generated from the MQTT credentials; regenerate rather than edit", ""]
    for user in acl.users():
        lines.append(f"user {user}")
        lines += [
            f"topic {rule.access.value} {rule.filter}"
            for rule in acl.rules(user)
            if rule.access is not Access.SUBSCRIBE  # `read` would let every topic of it through
        ]
        lines.append("")
    return "\n".join(lines)


class MosquittoFiles(NamedTuple):
    conf: Path
    password_file: Path
    acl_file: Path


def write_mosquitto(
    directory: Path,
    credentials: Credentials,
    *,
    port: int = 1883,
    host: str | None = None,
    extra: Sequence[str] = (),
) -> MosquittoFiles:
    """Write ``mosquitto.conf``, ``password_file`` and ``acl_file`` into ``directory``.

    The conf refuses anonymous clients and points at the other two by absolute path, so
    ``mosquitto -c DIR/mosquitto.conf`` runs from anywhere. ``extra`` lines are appended
    (persistence, logging …). All three files are 0600: Mosquitto reads them as the user
    that starts it.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"listener port {port} is out of range; use 1-65535")
    directory = directory.resolve()
    files = MosquittoFiles(directory / "mosquitto.conf", directory / "password_file", directory / "acl_file")
    write_atomically(files.password_file, mosquitto_password_file(credentials).encode())
    write_atomically(files.acl_file, mosquitto_acl_file(credentials.acl()).encode())
    listener = f"listener {port}" + (f" {host}" if host else "")
    conf = [
        "# carhome: Mosquitto with one identity per device, hub and Home Assistant",
        "per_listener_settings false",
        listener,
        "allow_anonymous false",
        # The client id is the username: no client can take over another's session.
        "use_username_as_clientid true",
        # No client may flood the broker with one huge message (the built-in broker's limit).
        f"message_size_limit {MAX_MESSAGE}",
        f"password_file {files.password_file}",
        f"acl_file {files.acl_file}",
        *extra,
    ]
    write_atomically(files.conf, ("\n".join(conf) + "\n").encode())
    return files
