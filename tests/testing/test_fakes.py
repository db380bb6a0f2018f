"""The fakes carhome.testing ships, at the hub's seams: what each does, and its exports pinned."""

from __future__ import annotations

import importlib

import pytest

import carhome.testing
from carhome.errors import CommandDenied
from carhome.hub import CommandStatus, Hub
from carhome.testing import AckingDevice, Allow, GatedStore, RecordingTransport, Refuse, WatchedStore, settle


def test_the_exports_are_pinned() -> None:
    surface = {
        "carhome.testing.clock": {"FakeClock", "settle"},
        "carhome.testing.devices": {"AckingDevice", "Recorder", "RecordingTransport"},
        "carhome.testing.gatekeepers": {"Allow", "Refuse"},
        "carhome.testing.proxy": {"FaultProxy"},
        "carhome.testing.restartable": {"Restartable"},
        "carhome.testing.stores": {"GatedStore", "HeldStore", "WatchedStore"},
    }  # each by the module that owns it: moving one is a decision too
    assert sorted(carhome.testing.__all__) == sorted(name for names in surface.values() for name in names)
    for module, names in surface.items():
        owner = importlib.import_module(module)
        for name in names:
            assert getattr(carhome.testing, name) is getattr(owner, name), name


async def test_an_acking_device_answers_as_told(hub: Hub) -> None:
    device = AckingDevice(hub, fail={"turn_off": "the filter is out"}, silent={"toggle"})
    hub.commands.attach("mqtt", device)
    on = await hub.submit("h1", "purifier", "action", "turn_on", member="m", face="test")
    off = await hub.submit("h1", "purifier", "action", "turn_off", member="m", face="test")
    toggle = await hub.submit("h1", "purifier", "action", "toggle", member="m", face="test")
    await device.until(lambda received: len({c.id for c in received}) == 3)
    # (the router may deliver a command more than once: devices go by its id)
    assert list(dict.fromkeys(c.id for c in device.received)) == [on.id, off.id, toggle.id]
    assert (on.status, on.result) == (CommandStatus.ACKED, {"ran": "turn_on"})
    assert (off.status, off.error) == (CommandStatus.FAILED, "the filter is out")
    assert toggle.status is CommandStatus.SENT
    assert (await device.next()).id == on.id


async def test_a_recording_transport_that_is_down_refuses(hub: Hub) -> None:
    transport = RecordingTransport(down=True)
    hub.commands.attach("mqtt", transport)
    command = await hub.submit("h1", "purifier", "action", "turn_on", member="m", face="test")
    await settle()
    assert transport.attempts >= 1
    assert (transport.delivered, command.status) == ([], CommandStatus.QUEUED)


async def test_gatekeepers_decide_and_record(hub: Hub) -> None:
    allow = Allow()
    hub.commands.gatekeeper = allow
    first = await hub.submit("h1", "purifier", "action", "turn_on", member="ana", face="test")
    assert await allow.until_asked(1) is first
    hub.commands.gatekeeper = Refuse("not today")
    with pytest.raises(CommandDenied, match="not today"):
        await hub.submit("h1", "purifier", "action", "turn_on", member="ana", face="test")
    assert allow.commands == [first]


async def test_the_stores_are_memory_stores_with_a_hand_on_their_writes() -> None:
    gated, watched = GatedStore(), WatchedStore(failures=1)
    assert gated.gate.is_set()
    with pytest.raises(OSError, match="disk full"):
        await watched.save_states([])
    await watched.save_states([])
    assert (watched.failed.is_set(), watched.saved.is_set(), watched.batches) == (True, True, [0])
