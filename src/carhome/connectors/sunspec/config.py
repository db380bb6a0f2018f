"""The ``sunspec`` section of a configuration file, decoded into typed structs.

::

    sunspec:
      poll_interval: 10        # seconds between reads of each device
      timeout: 3               # seconds to wait for one Modbus answer
      devices:
        - {home: home, host: 192.168.1.40, unit: 1, inverter: solar, meter: grid, battery: house_battery}

Each entry is one Modbus TCP endpoint (host, port, unit id) and names the hub devices it
feeds: ``inverter`` (a ``solar_inverter``), ``meter`` (a ``grid_meter``) and ``battery``
(a ``battery``), each declared under ``homes[].devices`` with ``connector: sunspec``; at
least one of them. ``base`` pins the map's start when discovery (40000, 50000, 0) is not
wanted; ``meter_reversed`` flips a meter that counts export as positive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from carhome.connectors.sunspec.mapping import DEVICE_TYPES, ROLES, Role
from carhome.drivers.checks import hub_device_problem

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``sunspec`` section and what is wrong there."""

CONNECTOR = "sunspec"


class SunSpecDeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One SunSpec endpoint and the hub devices it feeds."""

    home: str
    host: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 502
    unit: Annotated[int, msgspec.Meta(ge=0, le=255)] = 1
    inverter: str | None = None
    meter: str | None = None
    battery: str | None = None
    base: Annotated[int, msgspec.Meta(ge=0, le=65533)] | None = None
    meter_reversed: bool = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} unit {self.unit}"

    def roles(self) -> dict[Role, str]:
        """The hub device of each role this endpoint plays."""
        named = {"inverter": self.inverter, "meter": self.meter, "battery": self.battery}
        return {role: device for role in ROLES if (device := named[role]) is not None}


class SunSpecConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Solar inverters, meters and batteries that speak SunSpec over Modbus TCP."""

    poll_interval: Seconds = 10.0
    timeout: Seconds = 3.0
    devices: tuple[SunSpecDeviceConfig, ...] = ()

    def problems(self, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
        """What is wrong, checked against the configured hub devices.

        ``hub_devices`` maps (home, device) to (type, connector).
        """
        out: list[Problem] = []
        endpoints: set[tuple[str, int, int]] = set()
        fed: set[tuple[str, str]] = set()
        for index, d in enumerate(self.devices):
            at: tuple[str | int, ...] = ("devices", index)
            roles = d.roles()
            if not roles:
                out.append((at, "name at least one hub device it feeds: inverter, meter or battery"))
            endpoint = (d.host, d.port, d.unit)
            if endpoint in endpoints:
                out.append(((*at, "host"), f"{d.where} is configured twice; give one entry all its roles"))
            endpoints.add(endpoint)
            for role, device in roles.items():
                key = (d.home, device)
                problem = hub_device_problem(
                    hub_devices,
                    d.home,
                    device,
                    CONNECTOR,
                    wanted=DEVICE_TYPES[role],
                    feeds=f"a SunSpec {role} feeds a",
                    field=role,
                    type_field=role,
                )
                if problem is not None:
                    out.append(((*at, role), problem[1]))
                if key in fed:
                    out.append(((*at, role), f"{d.home}/{device} is fed by two SunSpec roles"))
                fed.add(key)
        return out
