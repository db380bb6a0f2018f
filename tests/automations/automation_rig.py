"""The fake lights of the automation tests: a Transport at the hub's public seam."""

from __future__ import annotations

from carhome.hub import Ack, Command, Hub


class Lights:
    """Devices at the public seam: execute every command at once, ack it, report the state."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.received: list[Command] = []

    async def deliver(self, command: Command) -> None:
        self.received.append(command)
        self.hub.ack(command.home, command.device, Ack(command.id, "acked"))
        if command.kind == "action":
            self.hub.report(command.home, command.device, {"on": command.target != "turn_off"})
        else:
            self.hub.report(command.home, command.device, {command.target: command.args["value"]})
