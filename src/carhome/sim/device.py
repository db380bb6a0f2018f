"""The one shape of every simulated device, and the bookkeeping they all share.

A simulated device owns its physics and its answers to commands. The runner only ever
talks to it through ``SimDevice``: ``step`` advances simulated time and returns what
changed (already rounded the way the real device would report it), ``execute`` runs a
command or raises ``DeviceRefused``, ``drain_events`` hands over what happened since the
last call. Adding a device type never touches the others or the runner.

``SimBase`` does the parts every device repeats: checking a command against the device's
spec (a real device checks what it receives, whatever the hub already checked), keeping
what it last reported so ``step`` returns only changes, and queueing events.

Devices with safety-critical actions (``verifies``: the car, the door lock, the garage
door) carry a key keeper once ``secure`` gives them one (``carhome.signing.keeper``): the
device-side MQTT client then verifies every signed command before ``execute`` sees it, and
the enrollment code appears on the device's ``screen``, as a real device would show it.

A device given a ``data`` directory (``keep_in``; ``secure`` gives its key directory) keeps
there, through its MQTT client, the ids of the commands it executed and the acks it
answered, so a restart of the simulator never runs a redelivered command twice — a light
toggled before a crash is not toggled again when the hub sends the command once more.
"""

from __future__ import annotations

import abc
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Final, NamedTuple, Protocol, runtime_checkable

from carhome.clock import Clock
from carhome.errors import DeviceRefused
from carhome.signing.keeper import DeviceKeys
from carhome.spec import SPECS, DeviceSpec, InvalidValue

log: Final = logging.getLogger(__name__)


class SimEvent(NamedTuple):
    """Something a device reports once: an event name from its spec and its fields."""

    name: str
    fields: dict[str, Any]


@runtime_checkable
class SimDevice(Protocol):
    """What the runner needs of a simulated device."""

    @property
    def type(self) -> str:
        """The spec type (``car``, ``air_purifier`` …)."""
        ...

    def state(self) -> dict[str, Any]:
        """Every property the device reports, as it would report it now."""
        ...

    def step(self, dt: float) -> dict[str, Any]:
        """Advance by ``dt`` simulated seconds (0 is allowed) and return what changed."""
        ...

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        """Run a command (``set`` a property or an ``action``); raise ``DeviceRefused``."""
        ...

    def drain_events(self) -> list[SimEvent]:
        """The events since the last call, oldest first."""
        ...


_UNSET: Any = object()  # never equal to a reported value, so a first report is always sent

Setter = Callable[[Any], None]
Action = Callable[[dict[str, Any]], Any]


class SimBase(abc.ABC):
    """Shared mechanics: spec checks, change tracking, events. Subclasses add physics.

    A subclass sets ``type``, implements ``advance`` (physics) and ``state`` (rounded
    report), and registers its commands in ``setters`` and ``actions`` — explicit tables,
    so the commands a device answers can be read in one place.
    """

    type: str
    verifies: ClassVar[bool] = False
    """Whether the real device checks signatures (it has safety-critical actions)."""

    def __init__(self) -> None:
        self.spec: DeviceSpec = SPECS[self.type]
        self.setters: dict[str, Setter] = {}
        self.actions: dict[str, Action] = {}
        self._reported: dict[str, Any] = {}
        self._events: list[SimEvent] = []
        self.keys: DeviceKeys | None = None
        self.data: Path | None = None
        """Where the device keeps what must survive its restart; ``None``: nothing is kept."""
        self.screen = ""
        """What the device's own display shows: an open enrollment's code, else nothing."""

    def keep_in(self, directory: Path) -> None:
        """Keep what must survive the device's restart in ``directory`` (the command ids
        it executed, with their acks)."""
        self.data = directory

    def secure(
        self, directory: Path, *, home: str, device: str, clock: Clock, boot: bool = True
    ) -> DeviceKeys:
        """Give the device its key keeper, kept in ``directory`` (keys survive a restart;
        ``boot`` starts a new epoch, as powering the device up does). The device keeps its
        executed command ids there too unless ``keep_in`` chose another directory."""
        if self.data is None:
            self.data = directory
        self.keys = DeviceKeys(
            directory, home=home, device=device, spec=self.spec, clock=clock, boot=boot, display=self._show
        )
        return self.keys

    def _show(self, code: str) -> None:
        self.screen = code
        if code:
            # The code is a presence proof: it goes to the screen, never to the hub's log.
            log.info("%s shows an enrollment code on its screen (carhome keys show-code)", self.type)

    def reboot(self) -> None:
        """Power-cycle the device's controller: a new epoch, every session opened again."""
        if self.keys is not None:
            self.keys.reboot()

    @abc.abstractmethod
    def state(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def advance(self, dt: float) -> None:
        """Move the physics on by ``dt`` seconds (``dt`` > 0)."""

    def step(self, dt: float) -> dict[str, Any]:
        if dt > 0:
            self.advance(dt)
        now = self.state()
        changed = {k: v for k, v in now.items() if self._reported.get(k, _UNSET) != v}
        self._reported.update(changed)
        return changed

    def emit(self, name: str, **fields: Any) -> None:
        if name not in self.spec.events:
            raise ValueError(f"{self.type} has no event {name!r}")  # a bug in the simulator
        self._events.append(SimEvent(name, fields))

    def drain_events(self) -> list[SimEvent]:
        events, self._events = self._events, []
        return events

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        try:
            if kind == "set":
                if set(args) != {"value"}:
                    raise DeviceRefused("a set command takes exactly one argument, 'value'")
                value = self.spec.check_set(target, args["value"])
                setter = self.setters.get(target)
                if setter is None:
                    raise DeviceRefused(f"{self.type} does not support writing {target!r}")
                setter(value)
                return {target: self.state().get(target, value)}
            if kind == "action":
                checked = self.spec.action(target).check_args(args)
                action = self.actions.get(target)
                if action is None:
                    raise DeviceRefused(f"{self.type} does not support the action {target!r}")
                return action(checked)
        except InvalidValue as exc:
            tail = f" (allowed: {exc.allowed})" if exc.allowed else ""
            raise DeviceRefused(f"{target}: {exc.reason}{tail}") from None
        raise DeviceRefused(f"unknown command kind {kind!r}; use 'set' or 'action'")


class SimSwitch(SimBase):
    """A device with an ``on`` property and the turn_on / turn_off / toggle actions.

    Subclasses add their own setters and actions to the tables; they override ``_set_on``
    to refuse (a purifier with a used-up filter) or to do more.
    """

    def __init__(self) -> None:
        super().__init__()
        self.on = False
        self.setters["on"] = self._set_on
        self.actions.update(
            {
                "turn_on": lambda _: self._set_on(True),
                "turn_off": lambda _: self._set_on(False),
                "toggle": lambda _: self._set_on(not self.on),
            }
        )

    def _set_on(self, value: Any) -> None:
        self.on = bool(value)


def approach(value: float, target: float, rate: float, dt: float) -> float:
    """First-order lag: move ``value`` toward ``target`` with time constant ``1/rate`` s.

    Exact for any ``dt`` (an exponential, not an Euler step), so a large tick cannot
    overshoot.
    """
    return target + (value - target) * math.exp(-rate * dt)


def substeps(dt: float, longest: float) -> Iterator[float]:
    """``dt`` seconds cut into steps of ``longest`` and a shorter last one, for physics that
    must react within a tick (a thermostat, a fan level following the air)."""
    left = dt
    while left > 0:
        step = min(left, longest)
        left -= step
        yield step
