"""What chargers' meter values mean: totals from phases, scaled units, begin registers that
are missing, and registers that seem to go back.

Each test plays a charger the way a real one of that kind reports (the ``ocpp`` library's
charge point, through ``SimulatedWallbox``) and holds the hub's ``power`` and ``energy``
against the charger's own register.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carhome.connectors.ocpp import Charger, OcppServer, Sample
from carhome.connectors.ocpp.meter import ENERGY, POWER, sample
from carhome.connectors.ocpp.transactions import Transactions
from carhome.hub import Change, Device, Hub
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox
from ocpp import exceptions as oe

WallboxFactory = Callable[..., SimulatedWallbox]
TOKENS = {"RFID-ALICE": "alice", "RFID-BOB": "bob"}


def _energies(hub: Hub) -> list[float]:
    """Every session energy the hub publishes for the wallbox (Home Assistant takes each)."""
    seen: list[float] = []

    def keep(change: Change) -> None:
        seen.append(change.value)

    hub.bus.subscribe(keep, home="h1", device="wallbox", name="energy")
    return seen


async def test_power_reported_per_phase_is_added_up(
    hub: Hub, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    async with make_wallbox(phases=3) as box:
        await box.boot()
        await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(184.0, 11_040.0)  # 3,680 W on each of L1, L2, L3
        power = hub.value("h1", "wallbox", "power")
    assert power == pytest.approx(11_040.0)
    print(f"three-phase power shown: {power:.0f} W of 11040 W")


async def test_a_2_0_1_multiplier_scales_the_values(hub: Hub, server: OcppServer, clock: FakeClock) -> None:
    url = f"ws://127.0.0.1:{server.port}/ocpp"
    box = SimulatedWallbox(
        url, "CP-1", version="2.0.1", password="s3cret-wallbox-password", clock=clock, multiplier=3
    )
    async with box:
        await box.boot()
        box.register_wh = 5_000_140.0  # sent as 5000.14 with multiplier 3
        await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(90.0, 7_400.0)  # 7.4 with multiplier 3
        power, energy = hub.value("h1", "wallbox", "power"), hub.value("h1", "wallbox", "energy")
    assert power == pytest.approx(7_400.0)
    assert energy == pytest.approx(0.09)


async def test_a_2_0_1_start_without_a_begin_value_never_shows_the_register(
    hub: Hub, server: OcppServer, clock: FakeClock
) -> None:
    url = f"ws://127.0.0.1:{server.port}/ocpp"
    shown = _energies(hub)
    box = SimulatedWallbox(
        url, "CP-1", version="2.0.1", password="s3cret-wallbox-password", clock=clock, begin_meter=False
    )
    async with box:
        await box.boot()
        box.register_wh = 5_000_140.0
        await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(0.0, 0.0)  # the first reading, before power flowed
        for _ in range(3):
            await clock.advance(60)
            await box.meter(30.0, 1_800.0)
        await box.stop()
    assert max(shown) == pytest.approx(0.09)
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.09)
    [tx] = server.transactions_of("CP-1")
    assert tx.energy_wh() == pytest.approx(90.0)
    print(f"2.0.1 session without a begin value: {max(shown):.2f} kWh shown for 0.09 kWh")


async def test_without_a_begin_value_the_last_register_reading_is_the_begin(
    hub: Hub, server: OcppServer, clock: FakeClock
) -> None:
    """Energy flowed before the first reading: the register read while idle still makes it exact."""
    url = f"ws://127.0.0.1:{server.port}/ocpp"
    box = SimulatedWallbox(
        url, "CP-1", version="2.0.1", password="s3cret-wallbox-password", clock=clock, begin_meter=False
    )
    async with box:
        await box.boot()
        box.register_wh = 5_000_140.0
        await box.idle_meter()  # a clock-aligned reading while no car is charging
        await clock.advance(600)
        await box.start("RFID-ALICE")
        await clock.advance(60)
        await box.meter(90.0, 5_400.0)  # its first reading comes a minute in
        await box.stop()
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.09)
    [tx] = server.transactions_of("CP-1")
    assert (tx.begin, tx.start_wh, tx.energy_wh()) == ("register", 5_000_140.0, 90.0)


async def test_a_register_reading_below_the_last_one_takes_nothing_back(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    shown = _energies(hub)
    async with make_wallbox() as box:
        await box.boot()
        box.register_wh = 10_000.0
        await box.start("RFID-ALICE")
        for add in (1000.0, 1000.0, -1000.0, 1000.0):  # a glitch: 12,000 → 11,000 → 12,000 Wh
            await clock.advance(60)
            await box.meter(add, 7_400.0)
        await clock.advance(60)
        await box.stop()
    assert shown == sorted(shown)  # the session energy never goes back
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(2.0)
    [tx] = server.transactions_of("CP-1")
    assert tx.energy_wh() == 2_000.0


async def test_two_2_0_1_chargers_may_name_their_transactions_alike(hub: Hub, clock: FakeClock) -> None:
    """Transaction ids are the charger's own in 2.0.1: "1" at one is not "1" at another."""
    await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
    await hub.add_device(Device(home="h1", id="carport", type="wallbox", connector="ocpp"))
    chargers = {
        "CP-1": Charger(home="h1", device="wallbox", password="s3cret-wallbox-password"),
        "CP-2": Charger(home="h1", device="carport", password="s3cret-carport-password"),
    }
    async with OcppServer(hub, "127.0.0.1", 0, chargers=chargers, id_tokens=TOKENS) as two:
        url = f"ws://127.0.0.1:{two.port}/ocpp"
        garage = SimulatedWallbox(
            url, "CP-1", version="2.0.1", password="s3cret-wallbox-password", clock=clock
        )
        carport = SimulatedWallbox(
            url, "CP-2", version="2.0.1", password="s3cret-carport-password", clock=clock
        )
        async with garage, carport:
            await garage.boot()
            await carport.boot()
            garage.register_wh, carport.register_wh = 1_000.0, 70_000.0
            await garage.start("RFID-ALICE", tx_id="1")
            await carport.start("RFID-BOB", tx_id="1")
            await clock.advance(60)
            await garage.meter(500.0, 7_400.0)
            await carport.meter(1_500.0, 11_000.0)
            await clock.advance(60)
            await garage.stop()
            await carport.stop()
        [a], [b] = two.transactions_of("CP-1"), two.transactions_of("CP-2")
    assert hub.value("h1", "wallbox", "energy") == pytest.approx(0.5)
    assert hub.value("h1", "carport", "energy") == pytest.approx(1.5)
    assert (a.energy_wh(), a.member) == (500.0, "alice")
    assert (b.energy_wh(), b.member) == (1_500.0, "bob")


async def test_a_begin_from_the_register_before_follows_readings_that_come_late() -> None:
    """A 2.0.1 start without a begin value is heard before the last readings of the
    transaction before it (a queue sent in another order): its begin moves up to them."""
    transactions = Transactions()
    await transactions.open(0.0)
    first, _ = await transactions.begin(
        charger="CP-1", connector=1, id_tag=None, member=None, started=100.0, start_wh=1_000.0
    )
    await transactions.record(first, [Sample(160.0, 1_500.0)])
    second, _ = await transactions.begin(
        charger="CP-1", connector=1, id_tag=None, member=None, started=400.0, start_wh=None, tx_id="b"
    )
    assert (second.begin, second.start_wh) == ("register", 1_500.0)
    await transactions.record(second, [Sample(460.0, 2_100.0)])
    # the first transaction's last reading and its stop arrive now
    await transactions.record(first, [Sample(220.0, 1_800.0)])
    await transactions.end(first, stopped=300.0, stop_wh=1_800.0)
    assert (first.ended, first.energy_wh()) == ("charger", 800.0)
    assert (second.begin, second.start_wh, second.energy_wh()) == ("register", 1_800.0, 300.0)


async def test_a_lone_low_reading_is_no_begin() -> None:
    """Without a begin value or a register before, the earliest reading begins it; a glitch
    below it later is not taken for a begin."""
    transactions = Transactions()
    await transactions.open(0.0)
    tx, _ = await transactions.begin(
        charger="CP-1", connector=1, id_tag=None, member=None, started=100.0, start_wh=None, tx_id="a"
    )
    await transactions.record(tx, [Sample(160.0, 5_000.0), Sample(220.0, 4_300.0), Sample(280.0, 5_400.0)])
    assert (tx.begin, tx.start_wh, tx.energy_wh()) == ("first", 5_000.0, 400.0)


_SAMPLED = st.fixed_dictionaries(
    {"value": st.one_of(st.floats(), st.integers(), st.text(max_size=6), st.none())},
    optional={
        "measurand": st.sampled_from([ENERGY, POWER, "Voltage", "Current.Import", ""]),
        "phase": st.sampled_from(["L1", "L2", "L3", "N", "L1-N", "L2-L3"]),
        "unit": st.sampled_from(["Wh", "kWh", "W", "kW", "V", ""]),
        "unit_of_measure": st.fixed_dictionaries(
            {},
            optional={
                "unit": st.sampled_from(["Wh", "kWh", "W", "kW", "A"]),
                "multiplier": st.one_of(st.integers(), st.floats(), st.text(max_size=3)),
            },
        ),
        "location": st.sampled_from(["Outlet", "Inlet", "Body", "EV"]),
        "context": st.sampled_from(["Transaction.Begin", "Sample.Periodic", "Transaction.End"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SAMPLED, max_size=8))
def test_any_sampled_values_give_a_finite_sample_or_a_property_error(values: list[dict[str, Any]]) -> None:
    try:
        found, _ = sample({"timestamp": "2026-01-01T00:00:00Z", "sampled_value": values})
    except oe.PropertyConstraintViolationError:
        return
    for reading in (found.energy_wh, found.power_w):
        assert reading is None or math.isfinite(reading)


def test_a_total_wins_over_phases_and_only_the_outlet_counts() -> None:
    values = [
        {"value": "3680", "measurand": POWER, "phase": "L1", "unit": "W"},
        {"value": "3680", "measurand": POWER, "phase": "L2-N", "unit": "W"},
        {"value": "230", "measurand": POWER, "phase": "L1-L2", "unit": "W"},
        {"value": "7.5", "measurand": POWER, "unit": "kW", "location": "Inlet"},
        {"value": "12", "unit": "kWh"},
    ]
    found, begin = sample({"timestamp": "2026-01-01T00:00:00Z", "sampled_value": values})
    assert (found.power_w, found.energy_wh, begin) == (7_360.0, 12_000.0, False)
    total = [*values, {"value": "7400", "measurand": POWER}]
    assert sample({"timestamp": "2026-01-01T00:00:00Z", "sampled_value": total})[0].power_w == 7_400.0
