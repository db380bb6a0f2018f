"""Automations subscribe on the hub's bus for exactly the keys their triggers watch —
properties, device events, command results — and every subscription closes when its
automation goes or the engine stops. The engine listens to nothing else."""

from __future__ import annotations

from automation_rig import Lights

from carhome.automations import Engine
from carhome.hub import Ack, Availability, Change, Command, Device, Event, Hub, Result
from carhome.spec import vss

KINDS = (Change, Event, Result, Availability)

WATCHING = """
home: h1
automations:
  - id: low
    triggers:
      - {trigger: threshold, device: car, property: soc, below: 20}
    actions:
      - {action: notify, member: owner, message: "low {trigger.value}"}
  - id: bell
    mode: parallel
    triggers:
      - {trigger: event, device: door, event: doorbell}
    actions:
      - {action: notify, member: owner, message: "ring"}
  - id: hall-done
    mode: parallel
    triggers:
      - {trigger: command, device: hall, target: turn_on, status: [acked, failed]}
    actions:
      - {action: notify, member: owner, message: "hall {trigger.value}"}
"""


def counts(hub: Hub) -> dict[str, int]:
    return {kind.__name__: hub.bus.count(kind) for kind in KINDS}


def opened(hub: Hub, before: dict[str, int]) -> dict[str, int]:
    return {kind: n - before[kind] for kind, n in counts(hub).items() if n != before[kind]}


def messages(engine: Engine) -> list[str]:
    return [n.message for n in engine.notifications.list()]


async def test_triggers_subscribe_on_their_keys_and_close_with_the_engine(hub: Hub, lights: Lights) -> None:
    await hub.add_device(Device(home="h1", id="door", type="door_lock"))
    before = counts(hub)
    async with Engine(hub) as engine:
        assert opened(hub, before) == {}  # an engine without automations listens to nothing
        assert engine.load_text(WATCHING) == []
        assert opened(hub, before) == {"Change": 1, "Event": 1, "Result": 1}
        assert hub.bus.watched("h1", "door", "doorbell", Event)
        assert not hub.bus.watched("h1", "door", "jammed", Event)
        assert hub.bus.watched("h1", "hall", "turn_on", Result)
        assert not hub.bus.watched("h1", "porch", "turn_on", Result)  # no listener to every result

        hub.report("h1", "car", {vss.SOC: 15.0})
        hub.event("h1", "door", "doorbell")
        hub.event("h1", "door", "jammed")
        command = await hub.submit("h1", "hall", "action", "turn_on", member="owner", face="test")
        await hub.commands.wait(command.id, timeout=5)
        await engine.idle()
        assert sorted(messages(engine)) == ["hall acked", "low 15.0", "ring"]

        engine.remove("bell")
        assert opened(hub, before) == {"Change": 1, "Result": 1}
        hub.event("h1", "door", "doorbell")
        await engine.idle()
        assert messages(engine).count("ring") == 1
        heard = len(messages(engine))
    assert counts(hub) == before
    print(f"automation subscriptions left after the engine stopped: {sum(opened(hub, before).values())}")

    # a stopped engine is called by nothing
    hub.report("h1", "car", {vss.SOC: 30.0})
    hub.report("h1", "car", {vss.SOC: 10.0})
    hub.event("h1", "door", "doorbell")
    again = await hub.submit("h1", "hall", "action", "turn_on", member="owner", face="test")
    assert (await hub.commands.wait(again.id, timeout=5)).status == "acked"
    assert len(messages(engine)) == heard


class Holding:
    """A device transport that takes commands and answers none by itself."""

    def __init__(self) -> None:
        self.received: list[Command] = []

    async def deliver(self, command: Command) -> None:
        self.received.append(command)


async def test_a_command_trigger_fires_on_outcomes_not_on_sending(hub: Hub) -> None:
    """Results are published when a command is sent too; a command trigger waits for its end."""
    await hub.add_device(Device(home="h1", id="porch", type="light"))
    hub.commands.attach("mqtt", Holding())
    async with Engine(hub) as engine:
        assert engine.load_text(PORCH) == []
        seen: list[Result] = []
        hub.bus.subscribe(seen.append, kind=Result, home="h1", device="porch")
        command = await hub.submit("h1", "porch", "action", "turn_on", member="owner", face="test")
        assert [r.status for r in seen] == ["sent"]
        await engine.idle()
        assert messages(engine) == []
        hub.ack("h1", "porch", Ack(command.id, "acked"))
        await engine.idle()
        assert [r.status for r in seen] == ["sent", "acked"]
        assert messages(engine) == ["porch acked"]


PORCH = """
home: h1
automations:
  - id: any-end
    mode: parallel
    triggers:
      - {trigger: command, device: porch, target: turn_on}
    actions:
      - {action: notify, member: owner, message: "porch {trigger.value}"}
"""
