"""Hub.report_one: one value without a mapping, taken and rejected exactly as Hub.report
takes and rejects ``{prop: value}``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from carhome.errors import InvalidChange
from carhome.hub import Change, Device, Home, Hub
from carhome.spec import vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE
from carhome.store import MemoryStore
from carhome.testing import FakeClock

YIZHUANG = (39.7953, 116.5060)

# (home, device, property, value, trusted): good values, values to normalise, every way a
# value is refused, derived properties with and without trust, unknown devices and homes.
CASES: list[tuple[str, str, str, Any, bool]] = [
    ("h1", "car", vss.SOC, 80.0, False),
    ("h1", "car", vss.SOC, 80.0, False),  # unchanged: stored again, published to nobody
    ("h1", "car", vss.SOC, 79, False),  # an int for a float: stored as a float
    ("h1", "car", vss.SPEED, 0, False),
    ("h1", "car", vss.SOC, 150.0, False),
    ("h1", "car", vss.SOC, float("nan"), False),
    ("h1", "car", vss.SOC, "x", False),
    ("h1", "car", "Vehicle.Warp", 9, False),
    # floats at and beyond the edges, with bounds and without
    ("h1", "car", vss.SOC, 100.0, False),
    ("h1", "car", vss.SOC, 0.0, False),
    ("h1", "car", vss.SOC, -0.0, False),
    ("h1", "car", vss.SOC, 100.00000000000001, False),
    ("h1", "car", vss.SOC, float("inf"), False),
    ("h1", "car", vss.SPEED, float("inf"), False),
    ("h1", "car", vss.SPEED, float("-inf"), False),
    ("h1", "car", vss.SPEED, float("nan"), False),
    ("h1", "car", vss.SPEED, 1e308, False),
    ("h1", "car", vss.SPEED, -1e308, False),
    ("h1", "car", vss.SPEED, 10**400, False),
    ("h1", "car", vss.SPEED, True, False),
    ("h1", "car", vss.IS_MOVING, 1.0, False),
    ("h1", "car", vss.RANGE, 250.0, False),
    ("h1", "car", vss.RANGE, 250.5, False),
    ("h1", "car", DISTANCE_TO_HOME, -1.0, True),
    ("h1", "car", DISTANCE_TO_HOME, float("inf"), True),
    ("h1", "car", vss.IS_MOVING, "yes", False),
    ("h1", "car", vss.START_STOP_CHARGING, "PAUSE", False),
    ("h1", "car", PLACE, "home", False),
    ("h1", "car", DISTANCE_TO_HOME, 0.0, False),
    ("h1", "car", PLACE, "home", True),
    ("h1", "car", DISTANCE_TO_HOME, 0.5, True),
    ("h1", "purifier", "fan_level", 2.0, False),
    ("h1", "purifier", "mode", "turbo", False),
    ("h1", "purifier", "colour", "red", False),
    ("h1", "toaster", "on", True, False),
    ("nowhere", "car", vss.SOC, 50.0, False),
    ("h1", "car", vss.LATITUDE, 39.9, False),  # far from home: the hub derives place and distance
    ("h1", "car", vss.LONGITUDE, 116.4, False),
    ("h1", "car", vss.LATITUDE, YIZHUANG[0], False),
    ("h1", "car", vss.LONGITUDE, YIZHUANG[1], False),  # at home
]


@contextlib.asynccontextmanager
async def a_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=YIZHUANG[0], lon=YIZHUANG[1]))
        await hub.add_device(Device(home="h1", id="car", type="car", name="Car"))
        await hub.add_device(Device(home="h1", id="purifier", type="air_purifier", name="Purifier"))
        yield hub


def shown(err: InvalidChange) -> tuple[Any, ...]:
    return (err.home, err.device, err.prop, err.code, err.reason, err.allowed, str(err))


def looked(hub: Hub) -> dict[tuple[str, str], dict[str, tuple[Any, str, float, str]]]:
    """Every stored state, with the type of its value (a normalised value keeps its type)."""
    return {
        (home, device): {
            prop: (s.value, type(s.value).__name__, s.ts, s.source)
            for prop, s in hub.state(home, device).items()
        }
        for home, device in (("h1", "car"), ("h1", "purifier"))
    }


async def test_report_one_applies_and_rejects_each_value_as_report_does(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with a_hub(clock) as by_map, a_hub(clock) as by_one:
        seen: dict[str, list[Change]] = {"map": [], "one": []}
        by_map.bus.subscribe(seen["map"].append, home="h1")
        by_one.bus.subscribe(seen["one"].append, home="h1")
        caplog.set_level(logging.WARNING, logger="carhome.rejected")
        rejected = 0
        for home, device, prop, value, trusted in CASES:
            await clock.advance(1)
            before = len(caplog.records)
            report = by_map.report(home, device, {prop: value}, source="mqtt", trusted=trusted)
            mark = len(caplog.records)
            err = by_one.report_one(home, device, prop, value, source="mqtt", trusted=trusted)
            if report.rejected:
                assert err is not None, (prop, value)
                assert shown(err) == shown(report.rejected[0])
                rejected += 1
            else:
                assert err is None, (prop, value, err)
                assert report.applied == 1
            # a rejection logged by one is logged by the other (once per cause)
            assert len(caplog.records) - mark == mark - before
            assert looked(by_one) == looked(by_map)
        assert [(c.device, c.prop, c.value, c.old, c.ts, c.source) for c in seen["one"]] == [
            (c.device, c.prop, c.value, c.old, c.ts, c.source) for c in seen["map"]
        ]
        assert by_one.rejections.counts == by_map.rejections.counts
        assert by_one.rejections.total == by_map.rejections.total == rejected
        assert [shown(e) for e in by_one.rejections.last] == [shown(e) for e in by_map.rejections.last]
        assert by_one.value("h1", "car", PLACE) == "home"  # derived from the reported position
        print(f"report_one beside report: {len(CASES)} values, {rejected} rejected alike")


async def test_report_one_keeps_an_explicit_time_and_gives_subscribers_the_old_value(
    hub: Hub, clock: FakeClock
) -> None:
    seen: list[Change] = []
    hub.bus.subscribe(seen.append, home="h1", device="car", name=vss.SOC)
    assert hub.report_one("h1", "car", vss.SOC, 60.0, ts=1234.5, source="kuksa") is None
    assert hub.report_one("h1", "car", vss.SOC, 61.0) is None
    assert [(c.value, c.old, c.ts, c.source) for c in seen] == [
        (60.0, None, 1234.5, "kuksa"),
        (61.0, 60.0, clock.time(), ""),
    ]


def test_a_failing_subscriber_does_not_stop_report_one(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    def broken(change: Change) -> None:
        raise RuntimeError("subscriber bug")

    hub.bus.subscribe(broken, home="h1", device="car", name=vss.SOC)
    seen: list[Change] = []
    hub.bus.subscribe(seen.append, home="h1", device="car", name=vss.SOC)
    with caplog.at_level(logging.ERROR, logger="carhome.hub.bus"):
        assert hub.report_one("h1", "car", vss.SOC, 55.0) is None
    assert [c.value for c in seen] == [55.0]
    assert hub.bus.errors == 1
    assert hub.value("h1", "car", vss.SOC) == 55.0


async def test_report_many_applies_and_rejects_a_batch_as_report_does_message_by_message(
    clock: FakeClock,
) -> None:
    # the reported (untrusted) cases as messages of one value, and a few of several values
    # (one bad among good ones, an unknown device), all in one batch
    many: list[tuple[str, str, dict[str, Any], float | None]] = [
        (home, device, {prop: value}, None) for home, device, prop, value, trusted in CASES if not trusted
    ]
    many[5:5] = [
        ("h1", "car", {vss.SOC: 42.0, vss.SPEED: "fast", vss.RANGE: 120.0}, None),
        ("nowhere", "car", {vss.SOC: 1.0, vss.SPEED: 2.0}, None),
        ("h1", "purifier", {"fan_level": 1.0, "mode": "auto"}, 1_000.0),
    ]
    async with a_hub(clock) as by_map, a_hub(clock) as by_many:
        seen: dict[str, list[Change]] = {"map": [], "many": []}
        by_map.bus.subscribe(seen["map"].append, home="h1")
        by_many.bus.subscribe(seen["many"].append, home="h1")
        expected = [
            err
            for home, device, values, ts in many
            for err in by_map.report(home, device, values, ts=ts, source="mqtt").rejected
        ]
        refused = by_many.report_many(many, source="mqtt")
        assert [shown(e) for e in refused] == [shown(e) for e in expected]
        assert [e.code for e in refused].count("unknown_device") == 3  # toaster, nowhere twice
        assert looked(by_many) == looked(by_map)
        assert [(c.device, c.prop, c.value, c.old, c.ts) for c in seen["many"]] == [
            (c.device, c.prop, c.value, c.old, c.ts) for c in seen["map"]
        ]
        assert by_many.rejections.counts == by_map.rejections.counts
