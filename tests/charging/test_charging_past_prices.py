"""A price file whose prices are all over loads, with a warning saying so: in the API's
answer, on ``carhome prices load`` and in the hub's log, whether it came over the API or
from a tariff file the hub reads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from charging_parts import TARIFF, plugged_car, report_soc, settings, setup, until
from click.testing import CliRunner

from carhome.api import ApiServer, create_app
from carhome.cli.charging import prices
from carhome.energy.controller import ChargingController
from carhome.energy.routes import charging_routes
from carhome.hub import Device, Home, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.thread import ServingThread

JANUARY_2025 = datetime(2025, 1, 6, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)


def csv_from(start: datetime, slots: int = 96) -> str:
    rows = [f"{(start + i * timedelta(minutes=15)).isoformat()},{0.1 + (i % 8) / 100}" for i in range(slots)]
    return "start,value\n" + "\n".join(rows) + "\n"


@pytest.fixture
async def controller(hub: Hub, clock: FakeClock) -> AsyncIterator[ChargingController]:
    clock.set(NOW.timestamp())
    async with plugged_car(hub) as controller:
        yield controller


async def test_the_api_loads_past_prices_and_warns(
    api: httpx.AsyncClient, controller: ChargingController, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="carhome")
    old = await api.post("/api/charging/h1/prices", json={"text": csv_from(JANUARY_2025), "file": "jan.csv"})
    assert old.status_code == 200, old.text
    warning = old.json()["warning"]
    print("warning:", warning)
    assert "every price in jan.csv is in the past (2025-01-06 00:00 to 2025-01-07 00:00" in warning
    assert any("jan.csv is in the past" in r.getMessage() for r in caplog.records)
    assert controller.status.problem is not None  # what the warning says: no price ahead
    assert "charging now until prices arrive" in controller.status.problem
    fresh = await api.post("/api/charging/h1/prices", json={"text": csv_from(NOW), "file": "today.csv"})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["warning"] is None


async def test_a_tariff_file_of_the_past_is_named_in_the_hubs_log(
    hub: Hub, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="carhome")
    clock.set(NOW.timestamp())
    path = tmp_path / "prices.csv"
    path.write_text(csv_from(JANUARY_2025))
    report_soc(hub, 60.0)
    with_file = replace(setup(charger_device=None), tariff_file=path)
    async with ChargingController(hub, with_file, settings(target=75), TARIFF) as controller:
        await until(controller, lambda: controller.plan is not None)
    said = [r.getMessage() for r in caplog.records if "is in the past" in r.getMessage()]
    assert said == [
        f"charging h1/car: every price in {path} is in the past (2025-01-06 00:00 to 2025-01-07 00:00,"
        " now is 2026-03-05 18:00): the plans have no price ahead and charge at once;"
        " load the prices of the coming hours"
    ]


class ChargingServer(ServingThread):
    """A hub with one charged car, serving the charging routes on a loopback port."""

    def __init__(self) -> None:
        super().__init__("test-charging-hub")
        self.clock = FakeClock(NOW.timestamp())

    async def serve(self) -> None:
        async with Hub(store=MemoryStore(), clock=self.clock) as hub:
            await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
            await hub.add_device(Device(home="h1", id="car", type="car"))
            report_soc(hub, 60.0)
            async with ChargingController(hub, setup(charger_device=None), settings(), TARIFF) as controller:
                await until(controller, lambda: controller.plan is not None)
                app = create_app(hub)
                app.router.routes.extend(charging_routes(hub, {controller.key: controller}))
                async with ApiServer(app, port=0) as server:
                    await self.serving(server.url)


@pytest.fixture
def served() -> Iterator[ChargingServer]:
    server = ChargingServer()
    server.start()
    yield server
    server.stop()


def test_carhome_prices_load_warns_of_a_january_file(served: ChargingServer, tmp_path: Path) -> None:
    path = tmp_path / "january.csv"
    path.write_text(csv_from(JANUARY_2025))
    result = CliRunner().invoke(prices, ["load", str(path), "--hub", served.url])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("h1: 96 price slots from 2025-01-06 00:00 to 2025-01-07 00:00")
    assert result.stderr.startswith(f"warning: every price in {path} is in the past")
    today = tmp_path / "today.csv"
    today.write_text(csv_from(NOW))
    again = CliRunner().invoke(prices, ["load", str(today), "--hub", served.url])
    assert again.exit_code == 0, again.output
    assert again.stderr == ""
