"""The ``tesla:`` section of the configuration file.

::

    tesla:
      url: mqtt://broker.lan:1883      # the broker fleet-telemetry's MQTT datastore publishes to
      username: carhome                # carhome's login there (optional)
      password: change-me
      topic_base: telemetry            # fleet-telemetry's mqtt.topic_base
      cars:
        - {home: yizhuang, device: model3, vin: 5YJ3E1EA1KF000000}

Each car names a hub car (declared under ``homes[].devices`` with ``connector: tesla``) and
its VIN, which fleet-telemetry puts in every topic: ``<topic_base>/<VIN>/v/<field>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import msgspec

from carhome.drivers.feeds import FeedBroker

CONNECTOR: Final = "tesla"
"""The ``connector`` of the hub devices fleet-telemetry feeds."""

Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``tesla`` section and what is wrong there."""

_VIN: Final = re.compile(r"[A-Za-z0-9]{1,32}")
_LEVEL: Final = re.compile(r"[^/+#\x00]+")


class TeslaCar(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One car fleet-telemetry streams."""

    home: str
    device: str
    vin: str


class TeslaConfig(FeedBroker, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Teslas whose fleet-telemetry server publishes to an MQTT broker (its MQTT datastore);
    ``max_payload`` bounds a field's value."""

    topic_base: str = "telemetry"
    """fleet-telemetry's ``mqtt.topic_base``."""
    cars: tuple[TeslaCar, ...] = ()

    def problems(self, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
        """What is wrong, checked against the configured hub devices ((home, device) →
        (type, connector)); each problem is a path inside this section and what is expected."""
        out: list[Problem] = []
        levels = self.topic_base.split("/")
        if not all(_LEVEL.fullmatch(level) for level in levels):
            out.append((("topic_base",), "a topic base is topic levels without '+', '#' or empty ones"))
        if not _LEVEL.fullmatch(self.client_id):
            out.append((("client_id",), "a client id is one topic level: no '/', '+', '#'"))
        vins: dict[str, int] = {}
        cars: dict[tuple[str, str], int] = {}
        for index, car in enumerate(self.cars):
            at: tuple[str | int, ...] = ("cars", index)
            where = f"{car.home}/{car.device}"
            hub = hub_devices.get((car.home, car.device))
            if hub is None:
                out.append(((*at, "device"), f"no device {where} in homes[].devices"))
            elif hub[0] != "car":
                out.append(((*at, "device"), f"{where} is a {hub[0]}; fleet-telemetry streams a car"))
            elif hub[1] != CONNECTOR:
                out.append(((*at, "device"), f"{where} has connector {hub[1]!r}; give it `connector: tesla`"))
            if (car.home, car.device) in cars:
                out.append(((*at, "device"), f"{where} is car {cars[(car.home, car.device)]} already"))
            cars.setdefault((car.home, car.device), index)
            if not _VIN.fullmatch(car.vin):
                out.append(((*at, "vin"), f"{car.vin!r} is not a VIN (letters and digits)"))
            elif car.vin in vins:
                out.append(((*at, "vin"), f"car {vins[car.vin]} has this VIN already"))
            vins.setdefault(car.vin, index)
        return out
