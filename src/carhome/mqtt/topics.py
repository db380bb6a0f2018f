"""MQTT topics as value objects: parsed and checked when made.

carhome's devices talk on ``carhome/{home}/{device}/{kind}``; the hub announces itself on
``carhome-hub/{hub_id}/status``. A ``Topic`` is only ever made valid: both ids pass
``check_name`` and the kind is one carhome knows, so nobody past the edge re-checks.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Final

from carhome.errors import InvalidName
from carhome.hub.model import check_name
from carhome.mqtt.malformed import MalformedMessage

ROOT: Final = "carhome"
HUB_ROOT: Final = "carhome-hub"
EVERY_TOPIC: Final = "#"
"""Every topic: the hub's one subscription on the NATS server (see ``connectors.mqtt``)."""

# Topics are far longer than this only when someone is probing; do not echo them whole.
_ECHO: Final = 80


class Kind(enum.StrEnum):
    """The last level of a device topic: what the message is and which way it flows."""

    STATE = "state"  # device → hub: property values
    EVENT = "event"  # device → hub: a spec'd event
    CMD = "cmd"  # hub → device: a command, QoS 1
    ACK = "ack"  # device → hub: the answer to a command, QoS 1
    STATUS = "status"  # device → hub: online/offline, retained, the last will
    SESSION = "session"  # hub → device: a phone's session request, relayed (carhome.signing.relay)
    SESSION_REPLY = "session_reply"  # device → hub: the device's tagged session answer
    ENROLL = "enroll"  # hub → device: begin/enroll/list/revoke keys, relayed
    ENROLL_REPLY = "enroll_reply"  # device → hub: the answer to an enroll ask
    RESEND = "resend"  # hub → device: publish your whole state again (carhome.fleet.republish)

    @property
    def filter(self) -> str:
        """The subscription filter for this kind across every home and device."""
        return f"{ROOT}/+/+/{self.value}"


_KINDS: Final = {k.value: k for k in Kind}


@dataclass(frozen=True, slots=True)
class Topic:
    """``carhome/{home}/{device}/{kind}``, checked when made."""

    home: str
    device: str
    kind: Kind

    def __post_init__(self) -> None:
        check_name("home", self.home)
        check_name("device", self.device)

    def __str__(self) -> str:
        return f"{ROOT}/{self.home}/{self.device}/{self.kind.value}"

    def sibling(self, kind: Kind) -> Topic:
        """The same device's topic of another kind (its ``cmd`` for an ``ack`` …)."""
        return Topic(self.home, self.device, kind)

    @staticmethod
    def parse(raw: str | bytes) -> Topic:
        """The topic ``raw`` names, or ``MalformedMessage('bad_topic')`` saying why not."""
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedMessage("bad_topic", f"topic {raw[:_ECHO]!r} is not UTF-8") from None
        return _parse(raw)


# Devices repeat the same few topics; a hit costs one dict lookup instead of a split and
# two regex matches. Failures raise and so are never cached.
@functools.lru_cache(maxsize=8192)
def _parse(raw: str) -> Topic:
    parts = raw.split("/")
    if len(parts) != 4 or parts[0] != ROOT:
        raise MalformedMessage(
            "bad_topic", f"topic {raw[:_ECHO]!r} is not carhome/{{home}}/{{device}}/{{kind}}"
        )
    kind = _KINDS.get(parts[3])
    if kind is None:
        raise MalformedMessage(
            "bad_topic", f"topic {raw[:_ECHO]!r} ends in an unknown kind; known: {', '.join(_KINDS)}"
        )
    try:
        return Topic(parts[1], parts[2], kind)
    except InvalidName as exc:
        raise MalformedMessage("bad_topic", f"topic {raw[:_ECHO]!r}: {exc}") from None


def is_device_topic(raw: str | bytes, kinds: frozenset[Kind]) -> bool:
    """Whether ``raw`` has the shape of a device topic of one of ``kinds`` (ids unchecked).

    A subscriber uses it to tell a malformed message meant for it (rejected, counted) from
    one that is none of its business (ignored).
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    parts = raw.split("/")
    return len(parts) == 4 and parts[0] == ROOT and _KINDS.get(parts[3]) in kinds


def hub_status_topic(hub_id: str) -> str:
    """Where the hub says it is ``online`` (retained) and its will says ``offline``."""
    check_name("hub", hub_id)
    return f"{HUB_ROOT}/{hub_id}/status"


def hub_heartbeat_topic(hub_id: str) -> str:
    """Where the hub sends itself a heartbeat through the broker, to know it still hears."""
    check_name("hub", hub_id)
    return f"{HUB_ROOT}/{hub_id}/heartbeat"
