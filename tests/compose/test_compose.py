"""The composition runs parts with one shape in order: each with its own section, over one context."""

from __future__ import annotations

import contextlib
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from carhome.compose.config import Config
from carhome.compose.parts import CONNECTOR_PARTS, SERVICE_PARTS, compose, hub_parts, section_of
from carhome.connectors.ovms.config import OvmsConfig
from carhome.errors import ConfigError
from carhome.history import routes as history_routes
from carhome.hub import Hub
from carhome.parts import Context, Key, Part
from carhome.parts.keys import HUB_DATABASE, KEY_RELAY
from carhome.say import routes as say_routes
from carhome.testing import FakeClock

GREETING: Key[str] = Key("greeting")


@dataclass
class Recording:
    """A part that notes its start and stop, provides or needs a greeting."""

    name: str
    log: list[str]
    provides: str | None = None
    needs: bool = False
    heard: list[str | None] = field(default_factory=list)
    section: type[OvmsConfig] | None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[object]:
        self.log.append(f"start {self.name} ({type(section).__name__})")
        if self.provides is not None:
            context.provide(GREETING, self.provides)
        if self.needs:
            self.heard.append(context.need(GREETING))
        try:
            yield self
        finally:
            self.log.append(f"stop {self.name}")


def _context(hub: Hub, clock: FakeClock) -> Context:
    return Context(hub=hub, clock=clock, data=None)


async def test_parts_start_in_order_with_sections_and_stop_in_reverse(hub: Hub, clock: FakeClock) -> None:
    log: list[str] = []
    ovms = OvmsConfig(url="mqtt://127.0.0.1:1883", cars=())
    config = Config(ovms=ovms)
    first = Recording("ovms", log, provides="hello", section=OvmsConfig)
    second = Recording("tesla", log, needs=True)
    async with compose([first, second], config, _context(hub, clock)) as context:
        assert log == ["start ovms (OvmsConfig)", "start tesla (NoneType)"]
        assert context.want(GREETING) == "hello"
    assert second.heard == ["hello"]
    assert log[2:] == ["stop tesla", "stop ovms"]


async def test_a_part_that_needs_what_nobody_provides_is_named(hub: Hub, clock: FakeClock) -> None:
    log: list[str] = []
    parts = [Recording("first", log), Recording("lonely", log, needs=True)]
    with pytest.raises(ConfigError, match="part lonely needs 'greeting'"):
        async with compose(parts, Config(), _context(hub, clock)):
            pass
    # the parts started before it are stopped again
    assert log == ["start first (NoneType)", "start lonely (NoneType)", "stop first"]


async def test_two_parts_cannot_provide_one_key(hub: Hub, clock: FakeClock) -> None:
    parts = [Recording("a", [], provides="x"), Recording("b", [], provides="y")]
    with pytest.raises(ConfigError, match="b provides 'greeting', which a provides already"):
        async with compose(parts, Config(), _context(hub, clock)):
            pass


def test_a_section_of_another_type_is_refused() -> None:
    wrong = Recording("ovms", [], section=None)
    assert section_of(wrong, Config()) is None
    typed: Part[object] = Recording("homes", [], section=OvmsConfig)
    with pytest.raises(ConfigError, match="'homes' section is a tuple"):
        section_of(typed, Config(homes=()))


@pytest.mark.parametrize("part", CONNECTOR_PARTS, ids=lambda p: p.name)
def test_each_part_owns_its_section_of_the_config(part: Part[object]) -> None:
    """The configuration's section of each part is the struct declared beside the part's code."""
    hints = typing.get_type_hints(Config)
    assert part.section is not None
    assert hints[part.name] == part.section | None
    assert part.section.__module__ == f"carhome.connectors.{part.name}.config"
    assert part.section.__struct_config__.forbid_unknown_fields  # type: ignore[attr-defined]


async def test_an_absent_section_starts_nothing(hub: Hub, clock: FakeClock) -> None:
    async with compose(CONNECTOR_PARTS, Config(), _context(hub, clock)) as context:
        assert context.health == []
    print(f"connector parts started from their sections: {len(CONNECTOR_PARTS)}")
    assert msgspec.structs.fields(Config)


async def test_a_service_part_needs_what_the_process_provides(hub: Hub, clock: FakeClock) -> None:
    with pytest.raises(ConfigError, match="part history needs 'hub database'"):
        async with compose(SERVICE_PARTS, Config(), _context(hub, clock)):
            pass


async def test_service_parts_hand_routes_to_the_sink(hub: Hub, clock: FakeClock, tmp_path: Path) -> None:
    context = _context(hub, clock)
    context.provide(HUB_DATABASE, tmp_path / "carhome.db")
    async with compose(SERVICE_PARTS, Config(), context):
        served = {(op.method, op.path) for op in context.routes.operations}
        assert served == {(op.method, op.path) for op in (*history_routes.OPERATIONS, *say_routes.OPERATIONS)}
        assert len(context.routes.routes) == len(context.routes.operations)
    assert (tmp_path / "carhome.history.db").exists()


def test_the_config_is_the_hub_and_homes_and_one_section_per_part() -> None:
    """Every field of ``Config`` but the process's own (the hub's, the homes', and ``fleet``,
    which makes the process a fleet worker) is the section of one part, named by it, of the
    type declared beside the part's code; every part with a section has one."""
    hints = typing.get_type_hints(Config)
    parts = hub_parts(Config())
    sectioned = {p.name: p for p in parts if p.section is not None}
    assert set(hints) - {"hub", "homes", "fleet"} == set(sectioned)
    for name, part in sectioned.items():
        hint = hints[name]
        if part.section is tuple:  # a list of entries: a tuple of the entry structs beside the part
            (entry, _) = typing.get_args(hint)
            assert hint == tuple[entry, ...]
            assert entry.__module__ == type(part.start).__module__.replace(".part", ".config") or (
                entry.__module__ == "carhome.energy.config"
            ), name
            continue
        assert hint in (part.section | None, part.section), name
        assert part.section.__module__.endswith(".config"), name
        assert part.section.__struct_config__.forbid_unknown_fields  # type: ignore[attr-defined]
    print(f"config sections, one per part: {len(sectioned)} of {len(parts)} parts")


def test_the_parts_of_a_hub_run_in_the_order_of_what_they_need() -> None:
    """Each key a part of the hub needs is provided by a part before it, or by the process."""
    names = [p.name for p in hub_parts(Config())]
    assert names[0] == "access"
    assert names[-2:] == ["api", "sim"]
    assert names.index("mqtt") < names.index("homeassistant")
    assert names.index("ocpp") < names.index("charging") < names.index("history")


async def test_access_guards_the_hubs_commands_while_it_runs_and_only_then(
    hub: Hub, clock: FakeClock, tmp_path: Path
) -> None:
    """The access part is the context's access seam and the hub's gatekeeper while it runs;
    stopped, it gives back the gatekeeper it found (the process's, which refuses)."""
    found = hub.commands.gatekeeper
    context = Context(hub=hub, clock=clock, data=tmp_path)
    [access] = [p for p in hub_parts(Config()) if p.name == "access"]
    async with compose([access], Config(), context):
        assert context.access is not None
        assert hub.commands.gatekeeper is not found
        assert context.want(KEY_RELAY) is not None
    assert context.access is None
    assert hub.commands.gatekeeper is found
