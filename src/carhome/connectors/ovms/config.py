"""The ``ovms:`` section of the configuration file.

::

    ovms:
      url: mqtt://broker.lan:1883       # the broker the modules' server v3 publishes to
      username: carhome                 # carhome's login there (optional)
      password: change-me
      client_id: carhome                # the client id in client/<id>/command/… topics
      active: true                      # ask the modules for their "client connected" rate
      cars:
        - {home: yizhuang, device: leaf, user: ovms-user, vehicle: LEAF1,
           pin_file: secrets/leaf.pin}  # the vehicle's PIN, for lock and unlock
        - {home: yizhuang, device: twizy, topic_prefix: "garage/twizy/",
           units: {distance: miles}, right_hand_drive: true}

Each car names a hub car (declared under ``homes[].devices`` with ``connector: ovms``) and
where its module publishes: ``ovms/<user>/<vehicle>/`` (the module's ``server.v3 user`` and
``vehicle id``), or the module's own ``topic_prefix``. ``units`` says which units its
metrics come in when its vehicle module does not keep OVMS's metric defaults. The PIN
(``pin``, or better ``pin_file``: its first line, relative to the configuration file) is
only needed for lock and unlock, and is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

from carhome.connectors.ovms.topics import ModuleTopics
from carhome.connectors.ovms.units import Distance, Temperature
from carhome.drivers.feeds import FeedBroker
from carhome.errors import ConfigError

CONNECTOR: Final = "ovms"
"""The ``connector`` of the hub devices an OVMS module feeds."""

Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``ovms`` section and what is wrong there."""

_PIN: Final = re.compile(r"\S{1,32}")


class OvmsUnits(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The units a module's metrics come in (OVMS's own: km and °C)."""

    distance: Distance = "km"
    temperature: Temperature = "celsius"


class OvmsCar(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One car and the module in it."""

    home: str
    device: str
    user: str | None = None
    """The module's ``server.v3 user``: its topics are ``ovms/<user>/<vehicle>/…``."""
    vehicle: str | None = None
    """The module's ``vehicle id``."""
    topic_prefix: str | None = None
    """The module's ``server.v3 topic.prefix``, when it sets one (instead of user and vehicle)."""
    pin: str | None = None
    pin_file: str | None = None
    """A file whose first line is the vehicle's PIN (relative to the configuration file)."""
    units: OvmsUnits = OvmsUnits()
    right_hand_drive: bool = False
    """The driver sits on the right: OVMS's right doors are the driver's."""

    def __repr__(self) -> str:  # never print the PIN
        return f"OvmsCar(home={self.home!r}, device={self.device!r}, vehicle={self.vehicle!r})"

    def topics(self, client: str) -> ModuleTopics:
        """The module's topics for carhome's ``client`` id; ``ConfigError`` if they cannot be."""
        return ModuleTopics.of(
            user=self.user, vehicle=self.vehicle or "", client=client, prefix=self.topic_prefix
        )

    def read_pin(self) -> str | None:
        """The PIN from ``pin`` or the first line of ``pin_file``, or ``None`` without one."""
        if self.pin is not None or self.pin_file is None:
            return self.pin
        try:
            pin = Path(self.pin_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"ovms car {self.home}/{self.device}: cannot read a PIN from {self.pin_file}: "
                f"{type(exc).__name__}; put the PIN on the file's first line"
            ) from None
        if not _PIN.fullmatch(pin):
            raise ConfigError(
                f"ovms car {self.home}/{self.device}: the first line of {self.pin_file} is not a PIN"
                " (1 to 32 characters, no spaces)"
            )
        return pin


class OvmsConfig(FeedBroker, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Cars whose OVMS module publishes to an MQTT broker (OVMS server v3); ``client_id`` is
    also carhome's id in the modules' ``client/<id>/…`` topics, ``max_payload`` bounds a
    metric's value."""

    active: bool = True
    """Tell each module carhome is an active client, so it reports at its "client connected"
    rate (``server.v3 updatetime.connected``) instead of its idle one; more mobile data."""
    cars: tuple[OvmsCar, ...] = ()

    def problems(self, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
        """What is wrong, checked against the configured hub devices ((home, device) →
        (type, connector)); each problem is a path inside this section and what is expected."""
        out: list[Problem] = []
        try:
            ModuleTopics.of(user="u", vehicle="v", client=self.client_id)
        except ConfigError as exc:
            out.append((("client_id",), exc.reason))
        prefixes: dict[str, int] = {}
        cars: dict[tuple[str, str], int] = {}
        for index, car in enumerate(self.cars):
            at: tuple[str | int, ...] = ("cars", index)
            key = (car.home, car.device)
            if key in cars:
                out.append(((*at, "device"), f"{car.home}/{car.device} is car {cars[key]} already"))
            cars.setdefault(key, index)
            out.extend(((*at, *path), message) for path, message in _device_problems(car, hub_devices))
            out.extend(
                ((*at, *path), message)
                for path, message in _topic_problems(car, self.client_id, prefixes, index)
            )
            if car.pin is not None and car.pin_file is not None:
                out.append(((*at, "pin"), "give the PIN or a pin_file, not both"))
            elif car.pin is not None and not _PIN.fullmatch(car.pin):
                out.append(((*at, "pin"), "a PIN is 1 to 32 characters without spaces"))
        return out


def _device_problems(car: OvmsCar, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
    hub = hub_devices.get((car.home, car.device))
    where = f"{car.home}/{car.device}"
    if hub is None:
        return [(("device",), f"no device {where} in homes[].devices")]
    if hub[0] != "car":
        return [(("device",), f"{where} is a {hub[0]}; OVMS feeds a car")]
    if hub[1] != CONNECTOR:
        return [(("device",), f"{where} has connector {hub[1]!r}; give it `connector: ovms`")]
    return []


def _topic_problems(car: OvmsCar, client: str, prefixes: dict[str, int], index: int) -> list[Problem]:
    if car.topic_prefix is None and (car.user is None or car.vehicle is None):
        return [((), "give the module's user and vehicle (its server v3 topics), or its topic_prefix")]
    try:
        prefix = car.topics(client).prefix
    except ConfigError as exc:
        return [((), exc.reason)]
    if prefix in prefixes:
        return [((), f"car {prefixes[prefix]} publishes under {prefix} already")]
    prefixes[prefix] = index
    return []
