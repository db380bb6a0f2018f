"""A provider outage is a warning on the charging answer, not a stopped plan.

A controller planned on aWATTar's market prices (its recorded answer at httpx's seam)
keeps its plan when aWATTar stops answering; the API's charging answer says where the
prices come from, how old they are, and why they are stale. The same answer through the
config: ``energy:`` names the provider and a shared line, the charging parts wire the feed
to every charged car of the home and plan the line's cars together.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from charging_parts import GUARD_S, report_soc, settings, setup, until

from carhome.api import create_app
from carhome.compose.config import parse_config
from carhome.energy import FixedTariff
from carhome.energy.controller import ChargingController
from carhome.energy.part import CHARGING_PART, ENERGY_PART
from carhome.energy.plans import Plan
from carhome.energy.providers import Feed
from carhome.energy.providers.awattar import Awattar, AwattarConfig
from carhome.energy.routes import charging_routes
from carhome.errors import ConfigError
from carhome.hub import Device, Hub
from carhome.parts import Context
from carhome.spec import vss
from carhome.testing import FakeClock

AWATTAR = "https://api.awattar.de/v1/marketdata"
RECORDED = (Path(__file__).parent.parent / "providers" / "fixtures" / "awattar_de.json").read_bytes()
MORNING = datetime(2023, 10, 26, 9, 30, tzinfo=UTC).timestamp()


@pytest.fixture
async def outage(clock: FakeClock) -> AsyncIterator[respx.Route]:
    """aWATTar answers once with its recorded prices, then with 503s."""
    clock.set(MORNING)
    with respx.mock:
        route = respx.get(AWATTAR)
        route.side_effect = [httpx.Response(200, content=RECORDED)] + [httpx.Response(503)] * 50
        yield route


async def answer(hub: Hub, controllers: dict[tuple[str, str], ChargingController]) -> list[dict[str, object]]:
    app = create_app(hub)
    app.router.routes.extend(charging_routes(hub, controllers))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://carhome.test"
    ) as client:
        found: list[dict[str, object]] = (await client.get("/api/charging")).json()
        return found


async def test_an_outage_is_a_warning_and_the_plan_goes_on(
    hub: Hub, clock: FakeClock, outage: respx.Route
) -> None:
    report_soc(hub, 40.0)
    hub.report("h1", "car", {vss.CABLE_CONNECTED: True}, source="test")
    async with Feed(Awattar(AwattarConfig(add=0.2)), hub=hub, home="h1") as feed:
        controller = ChargingController(
            hub, setup(charger_device=None), settings(target=60), FixedTariff(0.5)
        )
        controller.sources.append(feed)
        feed.subscribe(controller.set_prices)
        async with controller:
            await until(controller, lambda: controller.plan is not None and feed.series is not None)
            await until(controller, lambda: controller.plan is not None and controller.plan.price[0] != 0.5)
            [fresh] = await answer(hub, {controller.key: controller})
            plan = controller.plan
            await clock.advance(feed.next_at - clock.time() + 2 * 3600)  # aWATTar fails, more than once
            # the controller replans on the next quarter hour, on aWATTar's prices in hand
            await until(controller, lambda: feed.error is not None and replanned(controller, plan))
            [stale] = await answer(hub, {controller.key: controller})
    [source] = fresh["sources"]  # type: ignore[misc]
    assert (source["provider"], source["kind"], source["stale"], source["warning"]) == (
        "awattar",
        "prices",
        False,
        None,
    )
    assert fresh["slots"]
    assert fresh["slots"][0]["price"] == pytest.approx(140.0 / 1000 + 0.2)  # type: ignore[index]
    [late] = stale["sources"]  # type: ignore[misc]
    assert late["stale"] is True
    assert late["age_s"] >= 2 * 3600
    assert "aWATTar" in late["warning"]
    assert "503" in late["error"]
    assert stale["slots"]  # the plan goes on, on the prices in hand
    assert controller.plan is not None
    assert plan is not None
    assert controller.plan.made_at > plan.made_at  # replanned since, on aWATTar's prices in hand
    assert feed.series is not None
    assert controller.plan.price[0] == pytest.approx(feed.series.at(controller.plan.starts[0]) or 0.0)
    assert controller.status.problem is None
    assert hub.rejections.total == 0
    print(f"outage: {outage.call_count} asks to aWATTar, plan kept, warning: {late['warning']}")


def replanned(controller: ChargingController, before: Plan | None) -> bool:
    return before is not None and controller.plan is not None and controller.plan.made_at > before.made_at


CONFIG = """
homes:
  - id: h1
    name: Home
    lat: 52.5
    lon: 13.4
    timezone: Europe/Berlin
    devices:
      - {id: car, type: car}
      - {id: car2, type: car}
charging:
  - {car: car, member: owner, connection: garage, mode: smart, target: 60}
  - {car: car2, member: owner, connection: garage, mode: smart, target: 60}
energy:
  - prices: {provider: awattar, country: de, add: 0.2}
    connections:
      garage: {max_current: 16, phases: 3}
"""


async def test_the_energy_section_feeds_every_car_and_plans_the_line_together(
    hub: Hub, clock: FakeClock, outage: respx.Route, tmp_path: Path
) -> None:
    config = parse_config(CONFIG, file="carhome.yaml")
    await hub.add_device(Device(home="h1", id="car2", type="car"))
    for car, soc in (("car", 30.0), ("car2", 35.0)):
        hub.report("h1", car, {vss.SOC: soc, vss.CABLE_CONNECTED: True}, source="test")
    context = Context(hub=hub, clock=clock, data=tmp_path)
    async with (
        ENERGY_PART.start(context, config.energy),
        CHARGING_PART.start(context, config.charging) as started,
    ):
        controllers = typing.cast(dict[tuple[str, str], ChargingController], started)
        first, second = controllers[("h1", "car")], controllers[("h1", "car2")]
        [feed] = first.sources
        assert second.sources == [feed]
        await until(first, lambda: first.plan is not None and first.plan.price[0] != 0.5)
        await until(second, lambda: second.plan is first.plan)
        async with asyncio.timeout(GUARD_S):
            await feed.refreshed.wait()  # set once the good answer is kept on disk
        [one, two] = await answer(hub, controllers)
    assert first.plan is not None
    assert {c.car_id for c in first.plan.cars} == {"car", "car2"}
    assert one["shared_line"] == two["shared_line"] == "garage"
    assert one["sources"][0]["title"] == "aWATTar"  # type: ignore[index]
    assert (tmp_path / "energy" / "h1-prices.json").exists()  # kept for a restart during an outage
    assert feed.status().stale is False


@pytest.mark.parametrize(
    ("energy", "expected"),
    [
        ("energy: [{prices: {provider: nordpool}}]", "nordpool"),
        ("energy: [{grid: {meter: nowhere, main_fuse: 25}}]", "h1/nowhere is not a device"),
        ("energy: [{prices: {provider: octopus, product: AGILE-24-10-01}}]", "tariff"),
        ("energy: [{solar: {provider: open_meteo, lat: 95, lon: 13, kwp: 5}}]", "lat"),
    ],
)
def test_a_wrong_energy_section_names_its_line(energy: str, expected: str) -> None:
    text = CONFIG.split("energy:", maxsplit=1)[0].replace("connection: garage, ", "") + energy + "\n"
    with pytest.raises(ConfigError, match=expected) as caught:
        parse_config(text, file="carhome.yaml")
    assert caught.value.line is not None


def test_a_charging_line_must_be_one_of_the_homes_connections() -> None:
    text = CONFIG.replace("garage: {max_current", "drive: {max_current")
    with pytest.raises(ConfigError, match=r"no connection .garage.*connections: drive"):
        parse_config(text, file="carhome.yaml")
