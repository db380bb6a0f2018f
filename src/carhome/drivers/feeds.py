"""A car feed: the connector of cars whose telematics service publishes to an MQTT broker.

OVMS modules and Tesla's fleet-telemetry each publish the configured cars' data to a
broker carhome subscribes to. ``CarFeed`` is what their connectors share: whether the link to that
broker is up and how often it came up; the check that each configured device is a car;
every car unavailable while the link is down; a message rejected whole, with its reason,
counted and recorded in the hub's rejections.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

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


class FeedStats(Protocol):
    rejected: int
    """Messages rejected whole."""


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
