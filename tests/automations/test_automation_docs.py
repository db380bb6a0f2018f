"""The examples of docs/automations.md and examples/automations/ load, and the blueprints do
what the docs say, on a hub with the devices the docs name."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Device, Hub
from carhome.spec import vss
from carhome.testing import FakeClock

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "automations.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOCS, re.DOTALL)
BLUEPRINTS = next(b for b in BLOCKS if "use: arriving_home" in b)


@pytest.fixture
async def home(hub: Hub, lights: Lights) -> AsyncIterator[Engine]:
    for device, kind in (
        ("ac", "air_conditioner"),
        ("garage", "garage_door"),
        ("front_door", "door_lock"),
        ("vacuum", "robot_vacuum"),
        ("ana_phone", "phone"),
        ("bo_phone", "phone"),
    ):
        await hub.add_device(Device(home="h1", id=device, type=kind))
    async with Engine(hub) as engine:
        yield engine


def _sent(lights: Lights) -> list[tuple[str, str, object]]:
    return [(c.device, c.target, c.args.get("value", c.args or None)) for c in lights.received]


async def _settle(engine: Engine) -> None:
    await asyncio.wait_for(engine.idle(), 1)


def test_the_docs_have_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
async def test_every_docs_example_loads(home: Engine, block: str) -> None:
    assert home.load_text(block, "docs/automations.md") == []


async def test_the_example_files_load(home: Engine) -> None:
    assert home.load(ROOT / "examples" / "automations" / "blueprints.yaml") == []


async def test_arriving_home(hub: Hub, home: Engine, lights: Lights) -> None:
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    assert home.load_text(BLUEPRINTS) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await _settle(home)
    assert _sent(lights) == [
        ("garage", "open", None),
        ("hall", "turn_on", None),
        ("porch", "turn_on", None),
        ("ac", "target_temperature", 24.0),
        ("ac", "turn_on", None),
        ("purifier", "turn_on", None),
    ]


async def test_leaving_home(hub: Hub, home: Engine, lights: Lights) -> None:
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    assert home.load_text(BLUEPRINTS) == []
    hub.report("h1", "car", {"place": "away"}, trusted=True)
    await _settle(home)
    assert _sent(lights) == [
        ("front_door", "lock", None),
        ("hall", "turn_off", None),
        ("porch", "turn_off", None),
        ("vacuum", "start", None),
    ]


async def test_precondition_cabin_before_departure(
    hub: Hub, home: Engine, lights: Lights, clock: FakeClock
) -> None:
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    assert home.load_text(BLUEPRINTS) == []
    await clock.advance(7 * 3600 + 10 * 60 - 1)  # Thursday 07:09:59
    assert _sent(lights) == []
    await clock.advance(1)
    await _settle(home)
    assert _sent(lights) == [("car", "climate_on", {"temperature": 21.0})]


async def test_plug_in_reminder(hub: Hub, home: Engine, clock: FakeClock) -> None:
    hub.report("h1", "car", {vss.SOC: 25.0, vss.CABLE_CONNECTED: False})
    assert home.load_text(BLUEPRINTS) == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    await clock.advance(10 * 60)
    assert [n.message for n in home.notifications.list(member="ana")] == [
        "The car is home at home with low charge: plug it in"
    ]


async def test_unlocked_at_night(hub: Hub, home: Engine, lights: Lights, clock: FakeClock) -> None:
    hub.report("h1", "car", {"place": "home", **dict.fromkeys(vss.DOOR_LOCKED, True)}, trusted=True)
    hub.report("h1", "car", {vss.DOOR_LOCKED[2]: False})
    assert home.load_text(BLUEPRINTS) == []
    await clock.advance(22 * 3600)
    await _settle(home)
    assert [n.message for n in home.notifications.list(member="ana")] == ["The car is unlocked at home"]
    # (the cabin was pre-conditioned at 07:10 on the way)
    assert [s for s in _sent(lights) if s[1] != "climate_on"] == [("car", "lock", None)]


async def test_a_bad_blueprint_use_is_reported_with_its_line(home: Engine) -> None:
    text = BLUEPRINTS.replace('departure: "07:30"', 'departure: "7.30"').replace("vacuum: vacuum", "vacum: v")
    errors = home.load_text(text, "mine.yaml")
    # each points at the `with:` of its entry: leave's (line 11), warm_cabin's (line 16)
    assert [(e.line, "vacum" in str(e), "departure" in str(e)) for e in errors] == [
        (11, True, False),
        (16, False, True),
    ]
