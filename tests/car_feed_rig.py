"""The fixtures of a car fed over MQTT, shared by the OVMS and Tesla areas.

Each area has a car in ``h1``, its connector on the real Mosquitto, and a fake that publishes
what the car's side would (an OVMS module, Tesla's fleet-telemetry server); only the names and
types differ, so ``car_feed_fixtures`` makes the fixtures from them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from carhome.hub import Device, Hub
from mqtt.conftest import FAST, Mosquitto


def car_feed_fixtures(
    car: Device,
    connector: Callable[..., AbstractAsyncContextManager[Any]],
    config: Callable[[str], object],
    fake_name: str,
    fake: Callable[[int], AbstractAsyncContextManager[Any]],
) -> tuple[object, ...]:
    """The fixtures ``<car.id>`` (the car, added to the hub), ``connector`` and ``<fake_name>``.

    Assign them in the area's conftest (``*_ = car_feed_fixtures(...)``): pytest finds them
    there by those names.
    """

    @pytest.fixture
    async def fed_car(hub: Hub) -> str:
        await hub.add_device(car)
        return car.id

    @pytest.fixture(name=car.id)
    def car_fixture(fed_car: str) -> str:
        return fed_car

    @pytest.fixture(name="connector")
    async def connector_fixture(hub: Hub, fed_car: str, mosquitto: Mosquitto) -> AsyncIterator[Any]:
        async with connector(hub, config(mosquitto.url), backoff=FAST) as running:
            yield running

    @pytest.fixture(name=fake_name)
    async def fake_fixture(mosquitto: Mosquitto) -> AsyncIterator[Any]:
        async with fake(mosquitto.port) as publisher:
            yield publisher

    return fed_car, car_fixture, connector_fixture, fake_fixture
