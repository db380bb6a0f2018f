"""Triggers fire on every crossing, synchronously inside Hub.report, and only there."""

from __future__ import annotations

from carhome.automations import Engine
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock

SOC_LOW = """
home: h1
automations:
  - id: soc_low
    mode: parallel
    triggers:
      - trigger: threshold
        device: car
        property: soc
        below: 20
        {extra}
    actions:
      - action: notify
        member: owner
        message: "low {{trigger.value}}"
"""


def _messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]


async def test_threshold_fires_once_per_crossing(hub: Hub, engine: Engine) -> None:
    hub.report("h1", "car", {vss.SOC: 50.0})
    assert engine.load_text(SOC_LOW.format(extra="")) == []
    for value in (30.0, 19.0, 18.0, 25.0, 10.0):
        hub.report("h1", "car", {vss.SOC: value})
    assert _messages(engine) == ["low 19.0", "low 10.0"]


async def test_burst_that_crosses_and_returns_before_the_loop_turns_fires_each_time(
    hub: Hub, engine: Engine
) -> None:
    assert engine.load_text(SOC_LOW.format(extra="")) == []
    # no await between these: the event loop never turns
    for _ in range(50):
        hub.report("h1", "car", {vss.SOC: 15.0})
        hub.report("h1", "car", {vss.SOC: 60.0})
    assert len(_messages(engine)) == 50


async def test_hysteresis_rearms_only_past_the_band(hub: Hub, engine: Engine) -> None:
    assert engine.load_text(SOC_LOW.format(extra="hysteresis: 5")) == []
    for value in (19.0, 21.0, 19.0, 24.9, 19.5, 25.0, 18.0):
        hub.report("h1", "car", {vss.SOC: value})
    assert _messages(engine) == ["low 19.0", "low 18.0"]


async def test_a_value_already_in_range_at_start_does_not_fire(hub: Hub, engine: Engine) -> None:
    hub.report("h1", "car", {vss.SOC: 10.0})
    assert engine.load_text(SOC_LOW.format(extra="")) == []
    hub.report("h1", "car", {vss.SOC: 9.0})
    assert _messages(engine) == []
    hub.report("h1", "car", {vss.SOC: 30.0})
    hub.report("h1", "car", {vss.SOC: 9.0})
    assert _messages(engine) == ["low 9.0"]


async def test_between_above_and_below(hub: Hub, engine: Engine) -> None:
    text = SOC_LOW.replace("below: 20", "above: 40\n        below: 60").format(extra="")
    assert engine.load_text(text) == []
    for value in (30.0, 50.0, 55.0, 70.0, 45.0):
        hub.report("h1", "car", {vss.SOC: value})
    assert _messages(engine) == ["low 50.0", "low 45.0"]


STATE = """
- id: arrive
  home: h1
  triggers:
    - trigger: state
      device: car
      property: place
      from: away
      to: [home]
  actions:
    - action: notify
      member: owner
      message: "{trigger.old} -> {trigger.value}"
"""


async def test_state_from_to(hub: Hub, engine: Engine) -> None:
    assert engine.load_text(STATE) == []
    for place in ("work", "home", "away", "home", "away"):
        hub.report("h1", "car", {"place": place}, trusted=True)
    assert _messages(engine) == ["away -> home"]


PLACE = """
- id: leave_work
  home: h1
  triggers:
    - trigger: place
      device: car
      event: leave
      place: work
  actions:
    - action: notify
      member: owner
      message: "left for {trigger.value}"
"""


async def test_place_leave(hub: Hub, engine: Engine) -> None:
    assert engine.load_text(PLACE) == []
    for place in ("away", "work", "work", "home", "work", "away"):
        hub.report("h1", "car", {"place": place}, trusted=True)
    assert _messages(engine) == ["left for home", "left for away"]


async def test_place_enter_from_the_cars_location(hub: Hub, engine: Engine) -> None:
    text = PLACE.replace("leave", "enter").replace("place: work", "place: home")
    assert engine.load_text(text) == []
    home = hub.home("h1")
    hub.report("h1", "car", {vss.LATITUDE: home.lat + 0.1, vss.LONGITUDE: home.lon})
    hub.report("h1", "car", {vss.LATITUDE: home.lat, vss.LONGITUDE: home.lon})
    assert _messages(engine) == ["left for home"]


async def test_only_watched_properties_reach_the_engine(clock: FakeClock) -> None:
    async with Hub(store=MemoryStore(), clock=clock, persist_states=False) as hub:
        for home in ("h1", "h2"):
            hub.add_home_unsaved(Home(id=home, name=home, lat=39.8, lon=116.5))
            hub.add_device_unsaved(Device(home=home, id="car", type="car"))
        async with Engine(hub) as engine:
            assert engine.load_text(SOC_LOW.format(extra="")) == []
            assert hub.bus.watched("h1", "car", vss.SOC)
            assert not hub.bus.watched("h2", "car", vss.SOC)
            assert not hub.bus.watched("h1", "car", vss.SPEED)
            engine.remove("soc_low")
            assert not hub.bus.watched("h1", "car", vss.SOC)


async def test_a_cars_first_known_place_is_not_an_arrival(hub: Hub, engine: Engine) -> None:
    await hub.add_device(Device(home="h1", id="car2", type="car"))
    text = PLACE.replace("leave", "enter").replace("place: work", "place: home")
    assert engine.load_text(text.replace("device: car", "device: car2")) == []
    home = hub.home("h1")
    hub.report("h1", "car2", {vss.LATITUDE: home.lat, vss.LONGITUDE: home.lon})
    assert _messages(engine) == []
    hub.report("h1", "car2", {vss.LATITUDE: home.lat + 0.1, vss.LONGITUDE: home.lon})
    hub.report("h1", "car2", {vss.LATITUDE: home.lat, vss.LONGITUDE: home.lon})
    assert _messages(engine) == ["left for home"]
