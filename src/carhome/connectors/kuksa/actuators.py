"""Which carhome command a KUKSA actuation becomes.

A VSS actuator maps to a command in one of two ways, decided from the car's spec:

- the car property is writable: a ``set`` of that property (charge limit, HVAC set point,
  window positions, …);
- an action changes it (its ``ActionSpec.sets`` names the signal): that action, chosen by
  the value asked for. ``ACTIONS`` lists these as data — the door locks (``true`` → ``lock``,
  ``false`` → ``unlock``; the car locks or unlocks all doors at once, as the action says)
  and the rear trunk (``true`` → ``open_trunk``, ``false`` → ``close_trunk``).

Other actuators (an open door, the cable lock) exist in VSS but the car takes no command
for them; actuating one is refused with ``FAILED_PRECONDITION``. A sensor is refused with
``INVALID_ARGUMENT``, as the KUKSA databroker does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import grpc
import msgspec

from carhome.connectors.kuksa.errors import SignalError
from carhome.connectors.kuksa.signals import KuksaSignal, SignalTree
from carhome.errors import SpecError
from carhome.hub.commands import CommandKind
from carhome.spec import DeviceSpec
from carhome.spec.vss import DOOR_LOCKED, TRUNK_OPEN

ACTIONS: Final[Mapping[str, Mapping[Any, str]]] = {
    **{path: {True: "lock", False: "unlock"} for path in DOOR_LOCKED},
    TRUNK_OPEN: {True: "open_trunk", False: "close_trunk"},
}
"""Actuators that only an action can change: signal → {value asked for → action}."""


class Actuation(msgspec.Struct, frozen=True):
    """The command an actuation becomes: ``hub.submit(home, device, kind, target, args)``."""

    kind: CommandKind
    target: str
    args: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        """Equal for equal commands, so a batch locking four doors sends one ``lock``."""
        return (self.kind, self.target, msgspec.json.encode(self.args).decode())


class Actuators:
    """Turns (signal, value) into the command that makes the car take that value."""

    def __init__(
        self, spec: DeviceSpec, tree: SignalTree, actions: Mapping[str, Mapping[Any, str]] = ACTIONS
    ):
        for path, by_value in actions.items():
            for action in by_value.values():
                found = spec.actions.get(action)
                if found is None or path not in found.sets:
                    raise SpecError(
                        f"KUKSA maps {path} to the action {action!r}, but the {spec.type} spec"
                        f" has no such action setting it; fix carhome.connectors.kuksa.actuators.ACTIONS"
                    )
        self._tree = tree
        self._actions = actions

    def actuatable(self, signal: KuksaSignal) -> bool:
        return signal.prop.writable or signal.path in self._actions

    def actuation(self, signal: KuksaSignal, value: Any) -> Actuation:
        """The command for setting ``signal`` to ``value``; ``SignalError`` if there is none."""
        if signal.entry_type != "actuator":
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{signal.path} is a {signal.entry_type}, not an actuator: it cannot be actuated"
                " (a provider publishes it with PublishValue)",
            )
        if signal.prop.writable:
            return Actuation("set", signal.path, {"value": signal.check(value)})
        by_value = self._actions.get(signal.path)
        if by_value is None:
            raise SignalError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{signal.path} is an actuator the car takes no command for; actuatable here: "
                + ", ".join(s.path for s in self._tree if s.entry_type == "actuator" and self.actuatable(s)),
            )
        action = by_value.get(value)
        if action is None:
            allowed = " or ".join(f"{v!r} ({a})" for v, a in by_value.items())
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{signal.path} cannot be actuated to {value!r}; the car takes {allowed}",
            )
        return Actuation("action", action, {})
