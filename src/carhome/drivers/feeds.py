"""A car feed: the connector of cars whose telematics service publishes to an MQTT broker.

OVMS modules and Tesla's fleet-telemetry each publish the configured cars' data to a
broker carhome subscribes to. ``CarFeed`` is what their connectors share: whether the link to that
broker is up and how often it came up; the check that each configured device is a car;
every car unavailable while the link is down; a message's values handed to the hub and
counted (``FeedStats``); a message rejected whole, with its reason, counted and recorded in
the hub's rejections. ``FeedBroker`` is what their sections share:
the broker, carhome's login there, the largest value carhome reads; carhome connects as
``carhome-<feed>-<client_id>`` with its status on ``carhome-<feed>/<client_id>/status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Protocol, TypedDict

import msgspec

from carhome.errors import ConfigError, InvalidChange
from carhome.hub import Hub


class FeedLink(Protocol):
    """The feed's link to the broker (an ``MqttLink``)."""

    @property
    def connected(self) -> bool: ...
    @property
    def connects(self) -> int: ...


class FedCar(Protocol):
    """A configured car, as the hub names it."""

    @property
    def home(self) -> str: ...
    @property
    def device(self) -> str: ...


class FeedStats(msgspec.Struct):
    """What a car feed's connector has seen since it was made (each feed counts more)."""

    received: int = 0
    """Messages on the configured cars' topics."""
    applied: int = 0
    """Messages whose VSS values went to the hub."""
    unmapped: int = 0
    """Messages of what carhome does not map (an OVMS metric, a Tesla field: left alone)."""
    rejected: int = 0
    """Messages rejected whole: a value the car could not have sent, too large, a bad status."""
    rejected_values: int = 0
    """Single values the hub rejected (out of the signal's range …)."""


class CarFeed:
    """The base of a car feed's connector: subclasses make ``stats`` and the link."""

    stats: FeedStats
    _link: FeedLink

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def connects(self) -> int:
        """How many times the link came up (1 after opening, +1 per reconnect)."""
        return self._link.connects

    def _unseen(self, cars: Iterable[FedCar]) -> None:
        for car in cars:  # carhome cannot see them now
            self._hub.set_available(car.home, car.device, False)

    def _report(self, car: FedCar, values: Mapping[str, Any], source: str) -> None:
        """Hand the values of one message to the hub, counted (a message of none is not)."""
        if not values:
            return
        self.stats.applied += 1
        report = self._hub.report(car.home, car.device, values, source=source)
        self.stats.rejected_values += len(report.rejected)

    def _reject(self, car: FedCar, code: str, reason: str) -> None:
        self.stats.rejected += 1
        self._hub.rejections.record(
            InvalidChange(home=car.home, device=car.device, prop=None, code=code, reason=reason)
        )


def check_car(hub: Hub, home: str, device: str, *, feeds: str) -> None:
    """``ConfigError`` unless ``home``/``device`` is a car (``UnknownDevice`` if it is none);
    ``feeds`` says what feeds it ("an OVMS module feeds a car")."""
    if hub.spec(home, device).type != "car":
        raise ConfigError(f"{feeds}; {home}/{device} is not one")


class FeedLogin(TypedDict):
    """Who carhome is on the feed's broker: ``MqttLink``'s arguments of that name."""

    client_id: str
    status_topic: str
    username: str | None
    password: str | None


class FeedBroker(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The broker a feed publishes the cars' data to, and carhome's login there."""

    url: str
    """``mqtt://host:port`` (``mqtts://`` for TLS) of the broker the feed publishes to."""
    username: str | None = None
    password: str | None = None
    client_id: str = "carhome"
    max_payload: Annotated[int, msgspec.Meta(ge=64, le=1 << 20)] = 4096
    """The largest value carhome reads, in bytes; a larger one is refused and counted."""

    def __repr__(self) -> str:  # never print the password
        shown = (f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "password")
        return f"{type(self).__name__}({', '.join(shown)})"

    def login(self, feed: str) -> FeedLogin:
        """Who carhome is on the broker, for the ``feed`` (``ovms``, ``tesla``)."""
        return FeedLogin(
            client_id=f"carhome-{feed}-{self.client_id}",
            status_topic=f"carhome-{feed}/{self.client_id}/status",
            username=self.username,
            password=self.password,
        )
