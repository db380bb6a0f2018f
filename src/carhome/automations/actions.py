"""Actions: what a run does.

Each kind is a tagged struct (``action: command``) implementing one protocol, ``Action``:
``bind`` resolves its names against the hub once and returns a ``BoundStep`` whose function
finishes synchronously (returns ``None``) or returns an awaitable for what must wait.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any, Literal, Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path
from carhome.automations.conditions import ConditionConfig, bind_all
from carhome.automations.notifications import Notification
from carhome.automations.runs import BoundStep, Run, execute

Scalar = str | int | float | bool

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?")


def seconds(value: float | str, path: Path) -> float:
    """A duration: a number of seconds, ``1h30m``, ``90s``, ``2.5m`` or ``HH:MM:SS``."""
    if isinstance(value, int | float):
        out = float(value)
    elif ":" in value:
        parts = value.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            nums = []
        if len(nums) not in (2, 3):
            raise BindError(path, f"duration {value!r}: expected HH:MM:SS, MM:SS, 90s, 5m or 1h")
        out = sum(n * 60**k for k, n in enumerate(reversed(nums)))
    else:
        match = _DURATION.fullmatch(value.strip())
        if not value.strip() or match is None:
            raise BindError(path, f"duration {value!r}: expected seconds, 90s, 5m, 1h30m or HH:MM:SS")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        out = h * 3600 + m * 60 + s
    if out < 0:
        raise BindError(path, "a duration cannot be negative")
    return out


class Action(Protocol):
    """One action kind: bound once per automation, run once per run."""

    def bind(self, binder: Binder, path: Path) -> BoundStep: ...


def _where(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _devices(binder: Binder, ref: str | list[str], path: Path) -> list[tuple[str, str]]:
    refs = [ref] if isinstance(ref, str) else ref
    if not refs:
        raise BindError(path, "expected at least one device")
    return [binder.device(r, (*path, i) if isinstance(ref, list) else path) for i, r in enumerate(refs)]


async def _submit_all(
    run: Run, targets: list[tuple[str, str]], kind: str, target: str, args: dict[str, Any]
) -> None:
    # One after the other: each submit returns once the command is durable and handed to
    # its transport, so in-process this finishes in one loop turn (gather would add tasks).
    submit = run.hub.submit
    command_kind: Literal["set", "action"] = "set" if kind == "set" else "action"
    for home, device in targets:
        await submit(home, device, command_kind, target, args, member=run.member, face="automation")


class Command(msgspec.Struct, tag_field="action", tag="command", forbid_unknown_fields=True, kw_only=True):
    """Run a device action (``turn_on``, ``lock`` …) on one device or several."""

    device: str | list[str]
    name: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        targets = _devices(binder, self.device, (*path, "device"))
        for home, device in targets:
            binder.action(home, device, self.name, (*path, "name"))
            try:
                binder.hub.commands.make(
                    home=home,
                    device=device,
                    kind="action",
                    target=self.name,
                    args=self.args,
                    member="check",
                    face="automation",
                )
            except Exception as exc:
                raise BindError((*path, "args"), str(exc)) from None
        name, args = self.name, self.args
        return BoundStep(_where(path), "command", lambda run: _submit_all(run, targets, "action", name, args))


class SetProperty(msgspec.Struct, tag_field="action", tag="set", forbid_unknown_fields=True, kw_only=True):
    """Write a property (brightness, a set point …) on one device or several."""

    device: str | list[str]
    property: str
    value: Scalar

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        targets = _devices(binder, self.device, (*path, "device"))
        names = set()
        for home, device in targets:
            spec = binder.prop(home, device, self.property, (*path, "property"))
            names.add(spec.name)
            try:
                binder.hub.commands.make(
                    home=home,
                    device=device,
                    kind="set",
                    target=spec.name,
                    args={"value": self.value},
                    member="check",
                    face="automation",
                )
            except Exception as exc:
                raise BindError((*path, "value"), str(exc)) from None
        if len(names) != 1:
            raise BindError((*path, "property"), "the devices name this property differently")
        prop, args = names.pop(), {"value": self.value}
        return BoundStep(_where(path), "set", lambda run: _submit_all(run, targets, "set", prop, args))


class Notify(msgspec.Struct, tag_field="action", tag="notify", forbid_unknown_fields=True, kw_only=True):
    """Leave a message for a member; ``{trigger.value}`` and variables are filled in."""

    member: str
    message: str

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        member, message, home = self.member, self.message, binder.home or ""
        plain = "{" not in message

        def notify(run: Run) -> None:
            text = message if plain else message.format_map(run.variables)
            run.notifications.send(Notification(home, member, text, run.hub.clock.time(), run.automation))

        return BoundStep(_where(path), "notify", notify)


class Delay(msgspec.Struct, tag_field="action", tag="delay", forbid_unknown_fields=True):
    """Wait a while (hub clock time)."""

    duration: float | str

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        wait = seconds(self.duration, (*path, "duration"))
        return BoundStep(_where(path), "delay", lambda run: run.hub.clock.sleep(wait))


class Variables(msgspec.Struct, tag_field="action", tag="variables", forbid_unknown_fields=True):
    """Set run variables, for later messages."""

    set: dict[str, Any]

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        values = self.set

        def assign(run: Run) -> None:
            run.variables.update(values)

        return BoundStep(_where(path), "variables", assign)


class Choice(msgspec.Struct, forbid_unknown_fields=True):
    conditions: list[ConditionConfig]
    actions: list[ActionConfig]


class Choose(msgspec.Struct, tag_field="action", tag="choose", forbid_unknown_fields=True):
    """Run the actions of the first choice whose conditions all hold, else ``default``."""

    choices: list[Choice]
    default: list[ActionConfig] = msgspec.field(default_factory=list)

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        branches = [
            (
                bind_all(c.conditions, binder, (*path, "choices", i, "conditions")),
                bind_steps(c.actions, binder, (*path, "choices", i, "actions")),
            )
            for i, c in enumerate(self.choices)
        ]
        default = bind_steps(self.default, binder, (*path, "default"))

        def choose(run: Run) -> Awaitable[None] | None:
            for checks, steps in branches:
                if all(c() for c in checks):
                    return execute(steps, run)
            return execute(default, run)

        return BoundStep(_where(path), "choose", choose)


class IfThen(msgspec.Struct, tag_field="action", tag="if", forbid_unknown_fields=True):
    """If every condition holds run ``then``, otherwise ``else``."""

    if_: list[ConditionConfig] = msgspec.field(name="if")
    then: list[ActionConfig] = msgspec.field(default_factory=list)
    else_: list[ActionConfig] = msgspec.field(default_factory=list, name="else")

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        checks = bind_all(self.if_, binder, (*path, "if"))
        then = bind_steps(self.then, binder, (*path, "then"))
        other = bind_steps(self.else_, binder, (*path, "else"))
        return BoundStep(
            _where(path), "if", lambda run: execute(then if all(c() for c in checks) else other, run)
        )


class Sequence(msgspec.Struct, tag_field="action", tag="sequence", forbid_unknown_fields=True):
    """Run ``actions`` one after the other (a group, for ``parallel``)."""

    actions: list[ActionConfig]

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        steps = bind_steps(self.actions, binder, (*path, "actions"))
        return BoundStep(_where(path), "sequence", lambda run: execute(steps, run))


class Parallel(msgspec.Struct, tag_field="action", tag="parallel", forbid_unknown_fields=True):
    """Run each of ``actions`` at the same time; done when all are."""

    actions: list[ActionConfig]

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        steps = bind_steps(self.actions, binder, (*path, "actions"))

        def parallel(run: Run) -> Awaitable[None] | None:
            pending = [p for p in (execute((s,), run) for s in steps) if p is not None]
            if not pending:
                return None
            return _gather(pending)

        return BoundStep(_where(path), "parallel", parallel)


async def _gather(pending: list[Awaitable[None]]) -> None:
    await asyncio.gather(*pending)


ActionConfig = Command | SetProperty | Notify | Delay | Variables | Choose | IfThen | Sequence | Parallel


def bind_steps(actions: list[ActionConfig], binder: Binder, path: Path) -> list[BoundStep]:
    return [a.bind(binder, (*path, i)) for i, a in enumerate(actions)]
