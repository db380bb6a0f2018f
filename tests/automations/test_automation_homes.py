"""A file of automations given to several homes (``homes:``): parsed once, bound per home."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from automation_rig import Lights

from carhome.automations import Engine, load_text
from carhome.automations.files import read_text
from carhome.automations.loader import MAX_SHARED
from carhome.hub import Device, Home, Hub
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock

HOMES = ("h1", "h2", "h3")

BODY = """\
automations:
  - id: low
    mode: parallel
    triggers:
      - trigger: threshold
        device: car
        property: soc
        below: 20
    actions:
      - action: notify
        member: owner
        message: "low {trigger.value}"
  - id: arrive
    triggers:
      - {trigger: state, device: car, property: place, from: away, to: home}
    actions:
      - action: command
        device: [hall]
        name: turn_on
      - {action: notify, member: owner, message: arrive}
"""
SHARED = "homes: [h1, h2, h3]\n" + BODY


def per_home(home: str) -> str:
    """The same automations as one home's own file, as such files are written today."""
    return f"home: {home}\n" + BODY.replace("id: ", f"id: {home}.")


async def _hub(clock: FakeClock, homes: tuple[str, ...] = HOMES) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        for home in homes:
            await hub.add_home(Home(id=home, name=home, lat=39.8, lon=116.5))
            await hub.add_device(Device(home=home, id="car", type="car"))
            if home != "h3":  # h3 has no hall light
                await hub.add_device(Device(home=home, id="hall", type="light"))
            hub.report(home, "car", {vss.SOC: 80.0})
            hub.report(home, "car", {"place": "away"}, trusted=True)
        hub.commands.attach("mqtt", Lights(hub))
        yield hub


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[Hub]:
    async for hub in _hub(clock):
        yield hub


async def test_ids_per_home_and_errors_per_home_with_file_and_line(fleet: Hub) -> None:
    async with Engine(fleet) as engine:
        errors = engine.load_text(SHARED, "fleet.yaml")
        ids = sorted(a.id for a in engine.automations())
        homes = {a.id: engine.home_of(a.id) for a in engine.automations()}
    assert ids == ["h1.arrive", "h1.low", "h2.arrive", "h2.low", "h3.low"]
    assert all(homes[i] == i.split(".")[0] for i in ids)
    # h3 has no hall light: its 'arrive' alone is refused, at the line of the device
    assert len(errors) == 1
    error = errors[0]
    assert (error.file, error.line, error.path) == ("fleet.yaml", 19, "actions[0].device[0]")
    assert "no device 'hall'" in str(error)
    assert "for home 'h3'" in str(error)
    print(f"automations bound: {len(ids)} of {len(HOMES) * 2}, errors: {len(errors)}")


async def test_a_home_not_in_the_hub_is_refused_as_in_its_own_file(fleet: Hub) -> None:
    async with Engine(fleet) as engine:
        shared = engine.load_text("homes: [h1, h9]\n" + BODY, "fleet.yaml")
        own = engine.load_text(per_home("h9"), "h9.yaml")
        assert sorted(a.id for a in engine.automations()) == ["h1.arrive", "h1.low"]
    where = [(3, "home"), (14, "home")]
    assert [(e.line, e.path) for e in shared] == [(e.line, e.path) for e in own] == where
    assert all("no home 'h9' in this hub" in str(e) for e in shared + own)
    assert all("home 'h9' of the file's homes" in str(e) for e in shared)


async def test_a_decode_error_is_reported_once_not_per_home(fleet: Hub) -> None:
    text = SHARED.replace("below: 20", "belwo: 20")
    async with Engine(fleet) as engine:
        errors = engine.load_text(text, "fleet.yaml")
        assert sorted(a.id for a in engine.automations()) == ["h1.arrive", "h2.arrive"]
    assert [(e.line, e.path) for e in errors[:1]] == [(9, "triggers[0].belwo")]
    assert len(errors) == 2  # the decode error once, and h3's missing hall light


async def test_the_same_firings_as_a_file_per_home(clock: FakeClock) -> None:
    async def run(texts: list[str]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
        async for hub in _hub(clock, homes=("h1", "h2")):
            async with Engine(hub) as engine:
                for text in texts:
                    assert engine.load_text(text, "f.yaml") == []
                for home, changes in (
                    ("h2", {vss.SOC: 15.0}),
                    ("h1", {"place": "home"}),
                    ("h2", {vss.SOC: 25.0}),
                    ("h2", {vss.SOC: 10.0}),
                    ("h1", {vss.SOC: 19.5}),
                ):
                    hub.report(home, "car", changes, trusted=True)
                    await engine.idle()
                await hub.commands.drain()
                notes = [(n.home, n.automation, n.message) for n in engine.notifications.list()]
                on = [(h, d) for h in ("h1", "h2") for d in ("hall",) if hub.value(h, d, "on") is True]
                return notes, on
        raise AssertionError("no hub")

    shared = await run(["homes: [h1, h2]\n" + BODY])
    own = await run([per_home("h1"), per_home("h2")])
    assert shared == own
    assert shared[0] == [
        ("h2", "h2.low", "low 15.0"),
        ("h1", "h1.arrive", "arrive"),
        ("h2", "h2.low", "low 10.0"),
        ("h1", "h1.low", "low 19.5"),
    ]
    assert shared[1] == [("h1", "hall")]
    print(f"firings, shared file vs a file per home: {len(shared[0])} vs {len(own[0])}")


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("home: h1\nhomes: [h1]\n" + BODY, 2, "not both"),
        ("homes: h1\n" + BODY, 1, "list of home ids"),
        ("homes: []\n" + BODY, 1, "list of home ids"),
        ("homes: [h1, [h2]]\n" + BODY, 1, "expected a home id"),
        ("homes: [h1, h2, h1]\n" + BODY, 1, "listed twice"),
        (SHARED.replace("  - id: arrive\n", "  - id: arrive\n    home: h1\n"), 15, "remove its 'home:'"),
        ("homes: [h1, " + "h" * 125 + "]\n" + BODY, 3, "not a valid id"),
    ],
)
def test_what_a_homes_list_refuses(text: str, line: int, says: str) -> None:
    loaded = load_text(text, "fleet.yaml")
    assert says in str(loaded.errors[0])
    assert (loaded.errors[0].file, loaded.errors[0].line) == ("fleet.yaml", line)


def test_homes_times_automations_are_bounded() -> None:
    automations = "".join(
        f"  - {{id: a{i}, triggers: [{{trigger: time, at: '07:00'}}], actions: []}}\n" for i in range(1000)
    )
    homes = ", ".join(f"h{h}" for h in range(MAX_SHARED // 1000 + 1))
    loaded = load_text(f"homes: [{homes}]\nautomations:\n{automations}", "fleet.yaml")
    assert loaded.automations == []
    assert [(e.line, e.path) for e in loaded.errors] == [(1, "homes")]
    assert "split the homes into several files" in str(loaded.errors[0])


def test_a_text_saved_through_the_api_acts_in_one_home() -> None:
    text = read_text(SHARED, file="<api>", member="ana")
    assert text.loaded.automations == []
    assert "not 'homes:'" in str(text.loaded.errors[0])
