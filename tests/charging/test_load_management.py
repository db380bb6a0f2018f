"""Load management and the measured sun through a real hub: a simulated grid meter reports,
the OCPP wallboxes receive their limits, and the house never goes above its main fuse.

The meter is a device of the hub like any other, of the ``grid_meter`` type the SunSpec and
Shelly connectors report to real hubs: net power and three phase currents.
Each reading is what a real meter measures: the house's own load plus what the cars
draw. Time is the fake clock, and it does not move between a reading and the limit it
causes: the charger is told within one measurement period.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from charging_parts import (
    EVENING,
    GUARD_S,
    PASSWORD,
    actions,
    charging,
    plug_in,
    report_soc,
    start_action,
    stopped,
    until,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from load_parts import FLAT, FUSE, GRID, VOLTS, car_setup, limit_reaches, now_mode

from carhome.connectors.ocpp import Charger as OcppCharger
from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode
from carhome.energy.controller import ChargingController
from carhome.energy.fuse import Draw, share_fuse
from carhome.energy.site import Site
from carhome.hub import Device, Home, Hub
from carhome.spec import SPECS
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[Hub]:
    clock.set(EVENING)
    async with Hub(store=MemoryStore(), clock=clock, specs=SPECS) as hub:
        await hub.add_home(Home(id="h1", name="Home", lat=52.5, lon=13.4))
        for device, kind, connector in (
            ("car", "car", "mqtt"),
            ("car2", "car", "mqtt"),
            ("grid", "grid_meter", "mqtt"),
            ("wallbox", "wallbox", "ocpp"),
            ("wallbox2", "wallbox", "ocpp"),
        ):
            await hub.add_device(Device(home="h1", id=device, type=kind, connector=connector))
        yield hub


@pytest.fixture
async def boxes(hub: Hub, clock: FakeClock) -> AsyncIterator[tuple[SimulatedWallbox, SimulatedWallbox]]:
    chargers = {
        "CP-1": OcppCharger(home="h1", device="wallbox", password=PASSWORD),
        "CP-2": OcppCharger(home="h1", device="wallbox2", password=PASSWORD),
    }
    async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers) as server:
        url = f"ws://127.0.0.1:{server.port}/ocpp"
        async with (
            SimulatedWallbox(url, "CP-1", version="1.6", password=PASSWORD, clock=clock) as one,
            SimulatedWallbox(url, "CP-2", version="1.6", password=PASSWORD, clock=clock) as two,
        ):
            for box, cid in ((one, "CP-1"), (two, "CP-2")):
                await box.boot()
                await server.wait_connected(cid)
            yield one, two


class Meter:
    """The grid meter: reports the house's load plus what the wallboxes really draw."""

    def __init__(self, hub: Hub, boxes: tuple[SimulatedWallbox, ...]) -> None:
        self.hub, self.boxes, self.house = hub, boxes, (0.0, 0.0, 0.0)
        self.readings = 0
        self.over = 0

    def drawn(self, box: SimulatedWallbox) -> float:
        return float(box.limit_a or 0.0) if box.tx_id is not None else 0.0

    def report(self, house: tuple[float, float, float], export_w: float = 0.0) -> None:
        self.house = house
        cars = sum(self.drawn(b) for b in self.boxes)
        currents = [h + cars for h in house]
        for i, box in enumerate(self.boxes):  # each wallbox meters its own power
            device = "wallbox" if i == 0 else "wallbox2"
            self.hub.report("h1", device, {"power": self.drawn(box) * 3 * VOLTS}, source="test")
        net = sum(currents) * VOLTS - export_w
        self.readings += 1
        self.hub.report(
            "h1",
            "grid",
            {"power": net, **{f"current_l{i + 1}": c for i, c in enumerate(currents)}},
            source="test",
        )

    def check(self) -> None:
        """The house's own load plus what the wallboxes are allowed stays within the fuse."""
        allowed = sum(float(b.limit_a or 0.0) for b in self.boxes if b.tx_id is not None)
        if any(h + allowed > FUSE + 1e-9 for h in self.house if h <= FUSE):
            self.over += 1


@asynccontextmanager
async def one_car(
    hub: Hub, box: SimulatedWallbox, house: tuple[float, float, float], mode: Mode = Mode.NOW
) -> AsyncIterator[tuple[Meter, ChargingController]]:
    """The meter at ``house`` amperes a phase exporting nothing, the car at 40 %, and its
    controller in ``mode`` for ``box`` on the site."""
    meter = Meter(hub, (box,))
    report_soc(hub, 40.0)
    meter.report(house)
    async with (
        Site(hub, "h1", GRID) as site,
        ChargingController(hub, car_setup("car", "wallbox"), now_mode(mode), FLAT, site=site) as controller,
    ):
        yield meter, controller


async def test_the_house_never_goes_over_its_fuse(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox], clock: FakeClock
) -> None:
    one, _ = boxes
    async with one_car(hub, one, (10.0, 10.0, 10.0)) as (meter, controller):
        await plug_in(one)
        await limit_reaches(one, 15.0)  # 25 A less the house's 10 A
        await charging(one)
        await until(controller, lambda: controller.status.in_session)
        meter.check()
        for house, expected in (
            ((10.0, 16.0, 12.0), 9.0),  # the cooker on L2: the car gives way at once
            ((10.0, 12.0, 12.0), 13.0),
            ((3.0, 4.0, 2.0), 16.0),  # the house is quiet: the car takes all it can
            ((18.0, 11.0, 12.0), 7.0),
        ):
            meter.report(house)  # the clock stands still: within one measurement period
            await limit_reaches(one, expected)
            meter.check()
        meter.report((10.0, 21.0, 12.0))  # 4 A left on L2: below the charger's 6 A, it stops
        await one.wait_request("RemoteStopTransaction")
    print(f"fuse exceeded: {meter.over} of {meter.readings} meter readings")
    assert meter.over == 0


async def settle(
    meter: Meter, house: tuple[float, float, float], pairs: list[tuple[ChargingController, SimulatedWallbox]]
) -> tuple[float | None, ...]:
    """One meter reading per period until the wallboxes' limits stop moving (the fuse holding
    at every reading); the limits they hold then."""
    held: tuple[float | None, ...] = ()
    for _ in range(8):
        meter.report(house)
        for controller, box in pairs:
            await step(controller)  # it takes this reading
            await until(controller, lambda c=controller, b=box: agrees(c, b))  # type: ignore[misc]
        meter.check()
        now = tuple(box.limit_a if box.tx_id is not None else None for _, box in pairs)
        if now == held:
            return held
        held = now
    raise AssertionError(f"the limits kept moving: {held}")


async def step(controller: ChargingController) -> None:
    """Wait until the controller has made a whole step that began after now."""
    async with asyncio.timeout(GUARD_S):
        for _ in range(2):  # the first may have begun before the reading it should take
            controller.stepped.clear()
            controller.wake()
            await controller.stepped.wait()


def agrees(controller: ChargingController, box: SimulatedWallbox) -> bool:
    """The wallbox holds what the controller last asked (or is asked to stop)."""
    wanted = controller.status.setpoint
    return wanted is None or not wanted.on or box.limit_a == wanted.amps


@asynccontextmanager
async def two_cars(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox]
) -> AsyncIterator[tuple[Meter, list[tuple[ChargingController, SimulatedWallbox]]]]:
    """The meter at 5 A a phase, cars at 40 % and 30 %, and a controller per wallbox on one site."""
    meter = Meter(hub, boxes)
    report_soc(hub, 40.0)
    hub.report(
        "h1", "car2", {"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current": 30.0}, source="test"
    )
    meter.report((5.0, 5.0, 5.0))
    async with Site(hub, "h1", GRID) as site:
        first = ChargingController(hub, car_setup("car", "wallbox"), now_mode(), FLAT, site=site)
        second = ChargingController(hub, car_setup("car2", "wallbox2"), now_mode(), FLAT, site=site)
        async with first, second:
            yield meter, [(first, boxes[0]), (second, boxes[1])]


async def test_two_wallboxes_share_the_headroom(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox], clock: FakeClock
) -> None:
    one, two = boxes
    async with two_cars(hub, boxes) as (meter, pairs):
        (first, _), (second, _) = pairs
        for box in boxes:
            await plug_in(box)
        await limit_reaches(one, 10.0)  # 20 A of headroom, shared fairly
        await limit_reaches(two, 10.0)
        for box in boxes:
            await charging(box)
        await until(first, lambda: first.status.in_session)
        await until(second, lambda: second.status.in_session)
        assert await settle(meter, (9.0, 5.0, 5.0), pairs) == (8.0, 8.0)  # 16 A left: 8 A each
        meter.report((14.0, 5.0, 5.0))  # 11 A left: not enough for two at 6 A, so the second waits
        await two.wait_request("RemoteStopTransaction")
        await stopped(two)
        meter.check()
        assert await settle(meter, (14.0, 5.0, 5.0), pairs) == (11.0, None)
    print(f"two wallboxes: fuse exceeded {meter.over} of {meter.readings} meter readings")
    assert meter.over == 0


async def test_a_solar_car_takes_the_measured_surplus(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox], clock: FakeClock
) -> None:
    one, _ = boxes
    per_amp = 3 * VOLTS  # watts per ampere on three phases
    followed: list[bool] = []
    async with one_car(hub, one, (2.0, 2.0, 2.0), Mode.SOLAR) as (meter, controller):
        await plug_in(one)
        await until(controller, lambda: controller.status.plugged)
        assert controller.status.setpoint is not None
        assert not controller.status.setpoint.on  # no forecast, and no sun measured
        meter.report((2.0, 2.0, 2.0), export_w=(2 + 7) * per_amp)  # 7 A per phase to spare
        await limit_reaches(one, 7.0)
        await one.wait_request("RemoteStartTransaction")
        await charging(one)
        await until(controller, lambda: controller.status.in_session)
        # the export the meter sees is the spare sun less what the car already takes
        for spare, expected in ((11.0, 11.0), (16.0, 16.0), (20.0, 16.0), (9.0, 9.0)):
            meter.report((2.0, 2.0, 2.0), export_w=(2 + spare) * per_amp)
            await limit_reaches(one, expected)
            followed.append(one.limit_a == expected)
            meter.check()
        meter.report((2.0, 2.0, 2.0), export_w=(2 + 4) * per_amp)  # 4 A: below the 6 A it needs
        await one.wait_request("RemoteStopTransaction")
        followed.append(True)
    print(f"solar: the limit followed the measured surplus at {sum(followed)} of {len(followed)} readings")
    assert all(followed)
    assert meter.over == 0


async def test_solar_with_a_minimum_keeps_the_least_current_without_sun(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox], clock: FakeClock
) -> None:
    one, _ = boxes
    per_amp = 3 * VOLTS
    async with one_car(hub, one, (2.0, 2.0, 2.0), Mode.SOLAR_MIN) as (meter, controller):
        await plug_in(one)
        await limit_reaches(one, 6.0)  # no sun: the least current
        await charging(one)
        await until(controller, lambda: controller.status.in_session)
        limits = []
        for spare in (12.0, 3.0):
            meter.report((2.0, 2.0, 2.0), export_w=(2 + spare) * per_amp)
            await limit_reaches(one, max(6.0, spare))
            limits.append(one.limit_a)
        assert start_action(one) in actions(one)
        assert "RemoteStopTransaction" not in actions(one)
    print(f"solar with a minimum: 6 A without sun, then {limits} A with 12 A and 3 A to spare")
    assert limits == [12.0, 6.0]


async def test_a_raise_waits_until_the_meter_shows_the_cut(
    hub: Hub, boxes: tuple[SimulatedWallbox, SimulatedWallbox], clock: FakeClock
) -> None:
    one, two = boxes
    async with two_cars(hub, boxes) as (meter, pairs):
        (first, _), (second, _) = pairs
        await plug_in(one)
        await limit_reaches(one, 16.0)  # alone: all it can take of the 20 A left
        await charging(one)
        await until(first, lambda: first.status.in_session)
        meter.report((5.0, 5.0, 5.0))  # the meter sees it draw 16 A
        seen_one = meter.drawn(one)
        await plug_in(two)  # the second car: its share is made of the first one's cut
        await until(second, lambda: second.status.plugged)
        for controller, box in pairs:
            await step(controller)
            await until(controller, lambda c=controller, b=box: agrees(c, b))  # type: ignore[misc]
        cut = meter.drawn(one)
        # until the meter shows the cut, the second gets nothing: the first may still draw 16 A
        early = 0 if two.tx_id is None and start_action(two) not in actions(two) else 1
        worst = 5.0 + seen_one + (two.limit_a or 0.0) * early
        meter.report((5.0, 5.0, 5.0))  # the meter shows the cut
        await two.wait_request(start_action(two))
        await charging(two)
        await until(second, lambda: second.status.in_session)
        held = await settle(meter, (5.0, 5.0, 5.0), pairs)
    print(
        f"raise before the cut showed: {early}; first cut {seen_one:.0f} -> {cut:.0f} A at once; "
        f"worst phase before the meter showed it {worst:.0f} A of {FUSE:.0f} A; then {held}"
    )
    assert cut < seen_one  # cut at once, before the meter showed anything
    assert early == 0
    assert held == (10.0, 10.0)
    assert meter.over == 0


def test_commanded_currents_and_the_house_never_exceed_the_fuse() -> None:
    """Any house load, fuse and chargers (stale reports among them): the fuse holds."""
    checked: list[int] = []

    @settings(max_examples=500, deadline=None)
    @given(
        fuse=st.floats(10, 63),
        house=st.tuples(*[st.floats(0, 70)] * 3),
        chargers=st.lists(
            st.tuples(
                st.sampled_from([(1, 2, 3), (1,), (2,), (3,)]),
                st.floats(0, 32),  # wanted
                st.floats(0, 10),  # least
                st.floats(0, 32),  # what it reports drawing
                st.floats(0, 8),  # what it draws beyond its report (a stale report)
            ),
            max_size=4,
        ),
    )
    def check(
        fuse: float,
        house: tuple[float, float, float],
        chargers: list[tuple[tuple[int, ...], float, float, float, float]],
    ) -> None:
        draws = [
            Draw(f"c{i}", phases, wanted, least, drawing)
            for i, (phases, wanted, least, drawing, _) in enumerate(chargers)
        ]
        # the meter measures the house and what the chargers really draw (at least what they report)
        measured = [
            house[p - 1]
            + sum(
                d.drawing + extra
                for d, (_, _, _, _, extra) in zip(draws, chargers, strict=True)
                if p in d.phases
            )
            for p in (1, 2, 3)
        ]
        given_a = share_fuse(fuse, measured, draws)
        checked.append(sum(given_a.values()))
        for d in draws:
            amps = given_a[d.key]
            assert amps == 0 or d.least <= amps <= d.wanted + 1e-9
        for p in (1, 2, 3):
            on = [d for d in draws if p in d.phases]
            total = sum(given_a[d.key] for d in on)
            if house[p - 1] <= fuse:
                assert house[p - 1] + total <= fuse + 1e-9
            else:
                assert total == 0
            # and while a cut has not shown yet: the raises fit beside what the others still draw
            if house[p - 1] + sum(d.drawing for d in on) <= fuse:
                assert house[p - 1] + sum(max(given_a[d.key], d.drawing) for d in on) <= fuse + 1e-9

    check()
    print(f"fuse property: 0 of {len(checked)} random houses over the fuse, {sum(checked)} A given out")
    assert checked
