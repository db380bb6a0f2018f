"""The ``zigbee2mqtt`` section of a configuration file, decoded into typed structs.

::

    zigbee2mqtt:
      home: home                       # the home the bridge's devices belong to
      url: mqtt://127.0.0.1:1883       # the broker Zigbee2MQTT publishes to
      username: carhome                # optional: carhome's login on that broker
      password: a-long-secret
      base_topic: zigbee2mqtt          # Zigbee2MQTT's mqtt.base_topic
      confirm_timeout: 20              # seconds a command waits for the state that confirms it
      trusted_locks:                   # Zigbee locks an owner lets carhome unlock (see below)
        - {ieee_address: "0x00158d0001a2b3c4", owner: alice}

The devices are not listed here: the bridge publishes them (``bridge/devices``) and each
becomes a hub device of ``home``, its spec made from its exposes.

A Zigbee lock cannot verify a member's signature (nor can the hub: it only relays one), so
carhome never unlocks one unless an owner trusts that lock for it, by its IEEE address;
the trust holds while that member is an owner of the home. Locking needs no trust.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Collection
from typing import Annotated, Final

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``zigbee2mqtt`` section and what is wrong there."""

IEEE: Final = re.compile(r"0x[0-9a-fA-F]{16}")
_TOPIC: Final = re.compile(r"[^#+\x00]+")
_SCHEMES: Final = ("mqtt", "mqtts")


class TrustedLock(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A Zigbee lock an owner lets carhome unlock, though it cannot verify signatures."""

    ieee_address: str | int
    """The lock's IEEE address as Zigbee2MQTT shows it (``0x`` and 16 hex digits; YAML reads
    it unquoted as a number, which is taken too)."""
    owner: str
    """The owner (a member id) who trusts it; the trust ends when they are no longer one."""

    @property
    def ieee(self) -> str | None:
        """The address as ``0x`` and 16 lower-case hex digits, or ``None`` if it is none."""
        address = self.ieee_address
        if isinstance(address, int):
            return f"0x{address:016x}" if 0 <= address < 1 << 64 else None
        return address.lower() if IEEE.fullmatch(address) else None


class Zigbee2MqttConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A Zigbee2MQTT bridge whose devices belong to one home."""

    home: str
    url: str
    username: str | None = None
    password: str | None = None
    base_topic: str = "zigbee2mqtt"
    confirm_timeout: Seconds = 20.0
    """Zigbee2MQTT does not acknowledge commands: a command is acknowledged when the
    device's next state shows the value, and fails when none does within this time (or
    ends at its expiry, when that comes first: keep it below the commands' 30 s)."""
    trusted_locks: tuple[TrustedLock, ...] = ()

    def __repr__(self) -> str:  # never print the password (nor one in the URL)
        url = self.url.rpartition("@")[2]
        return (
            f"Zigbee2MqttConfig(home={self.home!r}, url={url!r}, username={self.username!r},"
            f" base_topic={self.base_topic!r})"
        )

    def problems(self, homes: Collection[str]) -> list[Problem]:
        """What is wrong, checked against the configured homes; each problem is a path
        inside this section and a message saying what is expected."""
        out: list[Problem] = []
        if self.home not in homes:
            out.append(
                (("home",), f"no home {self.home!r} in homes; known: {', '.join(sorted(homes)) or 'none'}")
            )
        if not _broker_url(self.url):
            shown = self.url.rpartition("@")[2]  # never a password
            out.append(
                (("url",), f"{shown!r} is not a broker URL; expected mqtt://host:port or mqtts://host:port")
            )
        if (
            not _TOPIC.fullmatch(self.base_topic)
            or self.base_topic.startswith("/")
            or self.base_topic.endswith("/")
        ):
            out.append(
                (("base_topic",), f"{self.base_topic!r} is not a topic Zigbee2MQTT can use; e.g. zigbee2mqtt")
            )
        if self.password is not None and self.username is None:
            out.append((("password",), "a password goes with a username"))
        seen: set[str] = set()
        for i, lock in enumerate(self.trusted_locks):
            at: tuple[str | int, ...] = ("trusted_locks", i)
            ieee = lock.ieee
            if ieee is None:
                out.append(
                    (
                        (*at, "ieee_address"),
                        f"{lock.ieee_address!r} is not an IEEE address; write it as Zigbee2MQTT"
                        " shows it, e.g. '0x00158d0001a2b3c4'",
                    )
                )
            elif ieee in seen:
                out.append(((*at, "ieee_address"), f"{ieee} is trusted twice"))
            else:
                seen.add(ieee)
        return out


def _broker_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return False
    return (
        parts.scheme in _SCHEMES
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )
