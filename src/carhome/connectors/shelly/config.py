"""The ``shelly`` section of a configuration file, decoded into typed structs.

::

    shelly:
      url: mqtt://192.168.1.5:1883   # the broker your Shellys publish to (Mosquitto …)
      username: carhome              # optional: the connector's login there
      password: secret
      timeout: 5                     # seconds to wait for a device's answer to a command
      devices:
        - {home: home, device: grid, prefix: shellypro3em-c8f09e8ad3d4, component: "em:0"}
        - {home: home, device: boiler, prefix: shellyplus1pm-a8032ab12345, component: "switch:0"}

Each device names a hub device (declared under ``homes[].devices`` with ``connector:
shelly``), the Shelly's MQTT topic prefix (its device id unless changed in its MQTT
settings) and the component that is that device: ``em:0`` a three-phase grid meter,
``em1:N`` or ``pm1:N`` a single-phase one, ``switch:N`` a relay. One Shelly may feed several
hub devices (a Pro 4PM's four switches).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Annotated

import msgspec

from carhome.connectors.shelly.mapping import Component
from carhome.drivers.checks import hub_device_problem

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``shelly`` section and what is wrong there."""

CONNECTOR = "shelly"
TOPIC_CHARS = frozenset("#+$")


class ShellyDeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One hub device fed by one component of one Shelly."""

    home: str
    device: str
    prefix: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    component: str

    @property
    def parsed(self) -> Component:
        return Component.parse(self.component)


class ShellyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Shelly Gen2 devices (meters and relays) over MQTT, on a broker given by URL."""

    url: str
    username: str | None = None
    password: str | None = None
    client_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = "carhome-shelly"
    timeout: Seconds = 5.0
    devices: tuple[ShellyDeviceConfig, ...] = ()

    def __repr__(self) -> str:  # never print the password
        return f"ShellyConfig(url={self.url!r}, devices={len(self.devices)})"

    def problems(self, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
        """What is wrong, checked against the configured hub devices.

        ``hub_devices`` maps (home, device) to (type, connector).
        """
        out: list[Problem] = []
        if not _broker_url(self.url):
            out.append(
                (("url",), "give the broker as mqtt://host:port (or mqtts://), e.g. mqtt://192.168.1.5:1883")
            )
        seen: set[tuple[str, str]] = set()
        components: set[tuple[str, str]] = set()
        for index, d in enumerate(self.devices):
            at: tuple[str | int, ...] = ("devices", index)
            if TOPIC_CHARS & set(d.prefix) or d.prefix.startswith("/") or d.prefix.endswith("/"):
                out.append(
                    ((*at, "prefix"), f"{d.prefix!r} is not a topic prefix: no #, + or $, no / at its ends")
                )
            try:
                component = d.parsed
            except ValueError as exc:
                out.append(((*at, "component"), str(exc)))
                continue
            if (d.prefix, component.key) in components:
                out.append(((*at, "component"), f"{d.prefix} {component.key} feeds two hub devices"))
            components.add((d.prefix, component.key))
            key = (d.home, d.device)
            problem = hub_device_problem(
                hub_devices,
                d.home,
                d.device,
                CONNECTOR,
                wanted=component.kind.device_type,
                feeds=f"{component.key} is a",
                type_field="component",
            )
            if problem is not None:
                out.append(((*at, problem[0]), problem[1]))
            if key in seen:
                out.append(((*at, "device"), f"{d.home}/{d.device} is configured twice"))
            seen.add(key)
        return out


def _broker_url(url: str) -> bool:
    """Whether ``url`` is an MQTT broker's URL (scheme, host, a valid port if any)."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number or out of range raises
    except ValueError:
        return False
    return parts.scheme in ("mqtt", "mqtts") and bool(parts.hostname)
