"""Hub.report: ingest of device values, rejections, derived properties and homes apart."""

from __future__ import annotations

import logging

import pytest

from carhome.errors import InvalidChange
from carhome.hub import Change, Device, Home, Hub
from carhome.spec import vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE
from carhome.testing import FakeClock


def recorder(hub: Hub, **key: str) -> list[Change]:
    seen: list[Change] = []
    hub.bus.subscribe(seen.append, **key)
    return seen


def codes(errors: list[InvalidChange]) -> dict[str | None, str]:
    return {e.prop: e.code for e in errors}


async def test_good_values_apply_and_publish_with_old_value_time_and_source(
    hub: Hub, clock: FakeClock
) -> None:
    seen = recorder(hub, home="h1", device="car")
    first = hub.report("h1", "car", {vss.SOC: 80.0, vss.SPEED: 0}, source="mqtt")
    assert first.applied == 2
    assert first.rejected == []
    await clock.advance(10)
    hub.report("h1", "car", {vss.SOC: 79.5}, source="mqtt")
    assert [(c.prop, c.value, c.old) for c in seen] == [
        (vss.SOC, 80.0, None),
        (vss.SPEED, 0.0, None),
        (vss.SOC, 79.5, 80.0),
    ]
    assert seen[-1].ts == clock.time()
    assert seen[-1].source == "mqtt"
    assert hub.value("h1", "car", vss.SOC) == 79.5
    assert hub.state("h1", "car")[vss.SOC].ts == clock.time()


def test_values_are_stored_normalised(hub: Hub) -> None:
    hub.report("h1", "purifier", {"fan_level": 2.0, "on": True})
    assert hub.value("h1", "purifier", "fan_level") == 2
    assert type(hub.value("h1", "purifier", "fan_level")) is int
    hub.report("h1", "car", {vss.SPEED: 50})
    assert type(hub.value("h1", "car", vss.SPEED)) is float


def test_an_explicit_timestamp_is_kept(hub: Hub) -> None:
    hub.report("h1", "car", {vss.SOC: 50.0}, ts=1234.5)
    assert hub.state("h1", "car")[vss.SOC].ts == 1234.5


def test_each_bad_value_is_rejected_alone_with_its_reason(hub: Hub) -> None:
    seen = recorder(hub, home="h1")
    report = hub.report(
        "h1",
        "car",
        {
            vss.SOC: 150.0,
            vss.SPEED: 50.0,
            "Vehicle.Warp": 9,
            vss.IS_MOVING: "yes",
            vss.START_STOP_CHARGING: "PAUSE",
        },
    )
    assert report.applied == 1
    assert codes(report.rejected) == {
        vss.SOC: "out_of_range",
        "Vehicle.Warp": "unknown_property",
        vss.IS_MOVING: "wrong_type",
        vss.START_STOP_CHARGING: "not_allowed",
    }
    assert [c.prop for c in seen] == [vss.SPEED]
    assert hub.value("h1", "car", vss.SOC) is None
    assert hub.rejections.counts == {
        "out_of_range": 1,
        "unknown_property": 1,
        "wrong_type": 1,
        "not_allowed": 1,
    }
    assert hub.rejections.total == 4


def test_a_rejection_names_home_device_property_problem_and_what_is_allowed(hub: Hub) -> None:
    (err,) = hub.report("h1", "purifier", {"mode": "turbo"}).rejected
    assert (err.home, err.device, err.prop, err.code) == ("h1", "purifier", "mode", "not_allowed")
    assert str(err) == (
        "h1/purifier property 'mode': 'turbo' is not allowed;"
        " allowed: one of 'auto', 'sleep', 'favorite', 'fan'"
    )
    (err,) = hub.report("h1", "purifier", {"colour": "red"}).rejected
    assert str(err) == (
        "h1/purifier property 'colour': air_purifier has no such property; "
        "allowed: fan_level, filter_life, humidity, mode, on, pm25"
    )


def test_rejections_are_logged_once_per_cause_and_counted_every_time(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="carhome.rejected"):
        for _ in range(3):
            hub.report("h1", "car", {vss.SOC: -1.0})
        hub.report("h1", "car", {vss.SOC: "x"})
    assert hub.rejections.counts == {"out_of_range": 3, "wrong_type": 1}
    assert len(caplog.records) == 2
    assert "h1/car property" in caplog.records[0].getMessage()


def test_recent_rejections_are_kept_bounded(hub: Hub) -> None:
    for i in range(101):
        hub.report("h1", "car", {vss.SOC: 200.0 + i})
    assert len(hub.rejections.last) == 51
    assert hub.rejections.last[-1].reason == "300.0 is out of range"


def test_unknown_device_is_rejected_and_names_the_known_ones(hub: Hub) -> None:
    report = hub.report("h1", "toaster", {"on": True})
    assert report.applied == 0
    (err,) = report.rejected
    assert (err.home, err.device, err.prop, err.code) == ("h1", "toaster", None, "unknown_device")
    assert str(err) == "h1/toaster: no such device in this home; allowed: car, purifier"
    assert hub.rejections.counts == {"unknown_device": 1}
    (err,) = hub.report("nowhere", "car", {}).rejected
    assert err.allowed is None


def test_derived_properties_are_not_reportable_by_devices(hub: Hub) -> None:
    report = hub.report("h1", "car", {PLACE: "home", DISTANCE_TO_HOME: 0.0})
    assert codes(report.rejected) == {PLACE: "derived", DISTANCE_TO_HOME: "derived"}
    assert report.rejected[0].reason == "this property is derived by the hub, not reported"
    assert hub.value("h1", "car", PLACE) is None
    trusted = hub.report("h1", "car", {PLACE: "home", DISTANCE_TO_HOME: 0.0}, trusted=True)
    assert trusted.applied == 2
    assert hub.value("h1", "car", PLACE) == "home"


async def test_an_unchanged_value_publishes_nothing_but_refreshes_the_state(
    hub: Hub, clock: FakeClock
) -> None:
    seen = recorder(hub, home="h1", device="car", name=vss.SOC)
    hub.report("h1", "car", {vss.SOC: 60.0})
    await clock.advance(5)
    report = hub.report("h1", "car", {vss.SOC: 60.0})
    assert report.applied == 1
    assert len(seen) == 1
    assert hub.state("h1", "car")[vss.SOC].ts == clock.time()


async def test_the_same_device_id_in_two_homes_stays_apart(hub: Hub) -> None:
    await hub.add_home(Home(id="h2", name="Shunyi", lat=40.13, lon=116.65))
    await hub.add_device(Device(home="h2", id="car", type="car"))
    in_h1 = recorder(hub, home="h1")
    in_h2 = recorder(hub, home="h2", device="car", name=vss.SOC)
    hub.report("h1", "car", {vss.SOC: 42.0})
    assert hub.value("h1", "car", vss.SOC) == 42.0
    assert hub.value("h2", "car", vss.SOC) is None
    assert in_h2 == []
    hub.report("h2", "car", {vss.SOC: 7.0})
    assert [c.value for c in in_h1] == [42.0]
    assert [(c.home, c.value) for c in in_h2] == [("h2", 7.0)]
    assert hub.value("h1", "car", vss.SOC) == 42.0
    # unknown-device hints list only the asking home's devices
    (err,) = hub.report("h2", "purifier", {"on": True}).rejected
    assert err.allowed == "car"


def test_a_failing_subscriber_is_counted_and_the_others_still_get_the_change(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(change: Change) -> None:
        raise RuntimeError("subscriber bug")

    hub.bus.subscribe(broken, home="h1", device="car", name=vss.SOC)
    seen = recorder(hub, home="h1", device="car", name=vss.SOC)
    with caplog.at_level(logging.ERROR, logger="carhome.hub.bus"):
        report = hub.report("h1", "car", {vss.SOC: 55.0})
    assert report.applied == 1
    assert [(c.prop, c.value) for c in seen] == [(vss.SOC, 55.0)]
    assert hub.bus.errors == 1
    assert "subscriber bug" in caplog.text


def test_a_subscription_made_during_a_report_gets_the_rest_of_that_report(hub: Hub) -> None:
    later: list[Change] = []

    def on_soc(change: Change) -> None:
        hub.bus.subscribe(later.append, home="h1", device="car", name=vss.SPEED)

    hub.bus.subscribe(on_soc, home="h1", device="car", name=vss.SOC)
    hub.report("h1", "car", {vss.SOC: 60.0, vss.SPEED: 30.0})
    assert [(c.prop, c.value) for c in later] == [(vss.SPEED, 30.0)]


def test_exact_subscribers_get_their_changes_beside_wider_ones(hub: Hub) -> None:
    exact = recorder(hub, home="h1", device="car", name=vss.SOC)
    hub.report("h1", "car", {vss.SOC: 70.0, vss.SPEED: 10.0})
    wide = recorder(hub, home="h1")
    everything = recorder(hub)
    hub.report("h1", "car", {vss.SOC: 71.0, vss.SPEED: 11.0})
    assert [c.value for c in exact] == [70.0, 71.0]
    assert [(c.prop, c.value) for c in wide] == [(vss.SOC, 71.0), (vss.SPEED, 11.0)]
    assert [(c.prop, c.value) for c in everything] == [(vss.SOC, 71.0), (vss.SPEED, 11.0)]
