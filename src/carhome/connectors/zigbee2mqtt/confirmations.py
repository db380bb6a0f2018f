"""Commands sent to Zigbee2MQTT, waiting for the state that shows them done.

Zigbee2MQTT acknowledges nothing sent to ``<friendly_name>/set``; it publishes the device's
state when the device answers. So a command is done when a state message shows what it
wrote (``Expectation``): the value (a number within half a percent of the property's range,
as a light may round), any report of the property (``toggle``, a cover's ``stop``), or a
cover's position moving the way it was sent. ``Confirmations`` holds the commands waiting,
hands each state to them, and gives up on one at its deadline, saying what the device
reported instead.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from carhome.clock import Clock
from carhome.connectors.zigbee2mqtt.mapping import ActionMap, Leaf
from carhome.hub import Command

Status = Literal["acked", "failed", "expired"]
Settle = Callable[[Command, Status, Any, "str | None"], None]
"""Called with a command's outcome: (command, status, result, error)."""


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a state message must show for a command to be done."""

    values: Mapping[str, Any] = field(default_factory=dict)
    """carhome property → the value it was set to."""
    tolerance: float = 0.0
    any_of: frozenset[str] = frozenset()
    """Properties any report of which confirms it."""
    progress: tuple[str, int, Any] | None = None
    """A property, a direction and its value when sent: a report moved that way confirms it."""

    @classmethod
    def of_set(cls, leaf: Leaf, value: Any) -> Expectation:
        prop = leaf.prop
        tolerance = 0.0
        if _number(value):
            span = None if prop.minimum is None or prop.maximum is None else prop.maximum - prop.minimum
            tolerance = 0.005 * (span if span is not None else abs(float(value)))
        return cls({leaf.name: value}, tolerance)

    @classmethod
    def of_action(cls, action: ActionMap, current: Callable[[str], Any]) -> Expectation:
        """``current(prop)`` is the property's value in the hub now (a cover's position)."""
        if action.expect is None:
            return cls(any_of=frozenset({action.leaf}))
        progress = None
        if action.progress is not None:
            prop, direction = action.progress
            progress = (prop, direction, current(prop))
        return cls({action.leaf: action.expect}, progress=progress)


@dataclass(slots=True)
class _Waiting:
    command: Command
    device: str
    friendly_name: str
    expectation: Expectation
    seen: dict[str, Any] = field(default_factory=dict)
    timer: asyncio.Task[None] | None = None


class Confirmations:
    """The commands waiting for a state of their device."""

    def __init__(self, clock: Clock, timeout: float, settle: Settle) -> None:
        self._clock = clock
        self._timeout = timeout
        self._settle_outcome = settle
        self._waiting: dict[str, _Waiting] = {}

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._waiting

    def wait(self, command: Command, device: str, friendly_name: str, expectation: Expectation) -> None:
        """Wait for ``command``'s state until ``timeout`` passes or its expiry comes."""
        waiting = _Waiting(command, device, friendly_name, expectation)
        self._waiting[command.id] = waiting
        deadline = min(self._clock.time() + self._timeout, command.expires)
        waiting.timer = asyncio.create_task(
            self._time_out(waiting, deadline), name=f"zigbee2mqtt-{command.id}"
        )

    def reported(self, device: str, values: Mapping[str, Any]) -> None:
        """A state of ``device`` arrived, its values converted and taken by the hub."""
        for waiting in [w for w in self._waiting.values() if w.device == device]:
            expect = waiting.expectation
            waiting.seen.update({p: v for p, v in values.items() if p in expect.values})
            done = bool(expect.any_of & values.keys()) or (
                bool(expect.values)
                and all(_close(waiting.seen.get(p), v, expect.tolerance) for p, v in expect.values.items())
            )
            moving = expect.progress is not None and _moved(expect.progress, values)
            if done or moving:
                result = {p: values[p] for p in (*expect.values, *expect.any_of) if p in values}
                if moving and not done:
                    result["moving"] = True
                self._settle(waiting, "acked", result, None)

    async def _time_out(self, waiting: _Waiting, deadline: float) -> None:
        await self._clock.sleep(deadline - self._clock.time())
        if self._waiting.get(waiting.command.id) is not waiting:
            return
        expect = waiting.expectation
        shown = ", ".join(f"{p} = {shown_value(v)}" for p, v in expect.values.items())
        shown = shown or "a report of " + ", ".join(sorted(expect.any_of))
        last = [f"{p} = {shown_value(waiting.seen[p])}" for p in expect.values if p in waiting.seen]
        tail = f"; it last reported {', '.join(last)}" if last else ""
        self._settle(
            waiting,
            "failed",
            None,
            f"no state from {waiting.friendly_name} showed {shown} within {self._timeout:g} s"
            f" (Zigbee2MQTT does not acknowledge commands; the device may be out of reach){tail}",
        )

    def _settle(self, waiting: _Waiting, status: Status, result: Any, error: str | None) -> None:
        self._waiting.pop(waiting.command.id, None)
        if waiting.timer is not None and waiting.timer is not asyncio.current_task():
            waiting.timer.cancel()
        self._settle_outcome(waiting.command, status, result, error)

    async def close(self) -> None:
        """Stop waiting (the connector closes); the commands end by their expiry."""
        timers = [w.timer for w in self._waiting.values() if w.timer is not None]
        self._waiting.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)


def shown_value(value: Any) -> str:
    """A value for a message: ``100``, not ``100.0``; strings quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _close(seen: Any, wanted: Any, tolerance: float) -> bool:
    """Whether a reported value shows the one written."""
    if _number(seen) and _number(wanted):
        return bool(abs(seen - wanted) <= tolerance or math.isclose(seen, wanted))
    return type(seen) is type(wanted) and bool(seen == wanted)


def _moved(progress: tuple[str, int, Any], values: Mapping[str, Any]) -> bool:
    prop, direction, before = progress
    now = values.get(prop)
    if not _number(now) or not _number(before):
        return False
    return bool((now - before) * direction > 0)
