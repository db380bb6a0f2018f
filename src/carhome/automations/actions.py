"""Actions: what a run does.

Each kind is a tagged struct (``action: command``) implementing one protocol, ``Action``:
``bind`` resolves its names against the hub once and returns a ``BoundStep`` whose function
finishes synchronously (returns ``None``) or returns an awaitable for what must wait.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Iterable
from typing import Any, Literal, Protocol

import msgspec

from carhome.automations.binding import Binder, BindError, Path
from carhome.automations.conditions import ConditionConfig, bind_all
from carhome.automations.durations import seconds
from carhome.automations.firing import Armed
from carhome.automations.notifications import Notification
from carhome.automations.runs import BoundStep, Run, execute
from carhome.automations.triggers import TriggerConfig
from carhome.errors import CarhomeError
from carhome.wire.automations import TriggerEvent

Scalar = str | int | float | bool


class Action(Protocol):
    """One action kind: bound once per automation, run once per run."""

    def bind(self, binder: Binder, path: Path) -> BoundStep: ...


SceneCommand = tuple[str, str, Literal["set", "action"], str, dict[str, Any]]
"""A command a step makes: (home, device, kind, target, args)."""


@functools.lru_cache(maxsize=1024)
def _where(path: Path) -> str:
    # The same few paths (``actions[0]`` …) for every automation bound: made once each.
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _devices(binder: Binder, ref: str | list[str], path: Path) -> list[tuple[str, str]]:
    refs = [ref] if isinstance(ref, str) else ref
    if not refs:
        raise BindError(path, "expected at least one device")
    return [binder.device(r, (*path, i) if isinstance(ref, list) else path) for i, r in enumerate(refs)]


def _check(binder: Binder, path: Path, command: SceneCommand, prefix: str = "") -> None:
    """Check ``command`` against its device's spec as making it would: a ``BindError`` at
    ``path`` (its message after ``prefix``) if it breaks it."""
    home, device, kind, target, args = command
    try:
        binder.hub.commands.check(home=home, device=device, kind=kind, target=target, args=args)
    except Exception as exc:
        raise BindError(path, f"{prefix}{exc}") from None


def _resumed(run: Run, branches: Iterable[tuple[str, list[BoundStep]]]) -> tuple[list[BoundStep], int] | None:
    """Resuming after a restart: the branch (by its path prefix) that ran, and the step to
    go on at; None when the run is fresh or none of ``branches`` ran."""
    if run.resume_at is not None:
        for prefix, steps in branches:
            start = run.resume_index(prefix)
            if start is not None:
                return steps, start
    return None


async def _submit_all(
    run: Run, targets: list[tuple[str, str]], kind: str, target: str, args: dict[str, Any], *, where: str
) -> None:
    # One after the other: each submit returns once the command is durable and handed to
    # its transport, so in-process this finishes in one loop turn (gather would add tasks).
    command_kind: Literal["set", "action"] = "set" if kind == "set" else "action"
    for i, (home, device) in enumerate(targets):
        await run.submit(home, device, command_kind, target, args, at=(where, i))


class Command(msgspec.Struct, tag_field="action", tag="command", forbid_unknown_fields=True, kw_only=True):
    """Run a device action (``turn_on``, ``lock`` …) on one device or several."""

    device: str | list[str]
    name: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        targets = _devices(binder, self.device, (*path, "device"))
        for home, device in targets:
            binder.action(home, device, self.name, (*path, "name"))
            _check(binder, (*path, "args"), (home, device, "action", self.name, self.args))
        name, args, where = self.name, self.args, _where(path)
        return BoundStep(
            where, "command", lambda run: _submit_all(run, targets, "action", name, args, where=where)
        )


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
            _check(binder, (*path, "value"), (home, device, "set", spec.name, {"value": self.value}))
        if len(names) != 1:
            raise BindError((*path, "property"), "the devices name this property differently")
        prop, args, where = names.pop(), {"value": self.value}, _where(path)
        return BoundStep(where, "set", lambda run: _submit_all(run, targets, "set", prop, args, where=where))


class Notify(msgspec.Struct, tag_field="action", tag="notify", forbid_unknown_fields=True, kw_only=True):
    """Leave a message for a member; ``{trigger.value}`` and variables are filled in."""

    member: str
    message: str

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        member, message = self.member, self.message
        binder.member(member, (*path, "member"))
        plain = "{" not in message

        def notify(run: Run) -> None:
            text = message if plain else message.format_map(run.variables)
            run.notifications.send(
                Notification(run.home or "", member, text, run.hub.clock.time(), run.automation)
            )

        return BoundStep(_where(path), "notify", notify)


class Delay(msgspec.Struct, tag_field="action", tag="delay", forbid_unknown_fields=True):
    """Wait a while (hub clock time); survives a restart unless it is inside ``parallel``."""

    duration: float | str

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        wait, where = seconds(self.duration, (*path, "duration")), _where(path)
        return BoundStep(where, "delay", lambda run: _delay(run, wait, where))


async def _delay(run: Run, wait: float, where: str) -> None:
    due = run.due(wait)
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def due_now(late: bool) -> None:
        if not done.done():
            done.set_result(late)

    timer = run.timers.start(
        due,
        due_now,
        name=f"automation {run.automation} delay",
        saved=run.checkpoint(where, "delay", due),
        late=due <= run.hub.clock.time(),
    )
    try:
        if await done:
            run.trace.steps[-1].late = True
    finally:
        timer.cancel()


class WaitTimeout(CarhomeError):
    """A wait ran out of time and the automation said not to go on."""


class Wait(msgspec.Struct, tag_field="action", tag="wait", forbid_unknown_fields=True, kw_only=True):
    """Wait until a trigger (or any of several) fires, at most ``timeout``.

    Afterwards ``wait`` holds ``{"trigger": …, "timed_out": …}`` for later steps. On a
    timeout the run goes on unless ``continue_on_timeout: false``, which ends it failed.
    A wait at the top of the actions survives a restart with the time it had left.
    """

    trigger: TriggerConfig | list[TriggerConfig]
    timeout: float | str | None = None
    continue_on_timeout: bool = True

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        triggers = self.trigger if isinstance(self.trigger, list) else [self.trigger]
        paths = [
            (*path, "trigger", i) if isinstance(self.trigger, list) else (*path, "trigger")
            for i in range(len(triggers))
        ]
        for trigger, at in zip(triggers, paths, strict=True):
            for armed in trigger.arm(binder, at, 0, lambda event: None):  # names checked now
                armed.cancel()
        timeout = None if self.timeout is None else seconds(self.timeout, (*path, "timeout"))
        go_on, where = self.continue_on_timeout, _where(path)

        async def wait(run: Run) -> None:
            done: asyncio.Future[TriggerEvent | None] = asyncio.get_running_loop().create_future()

            def fired(event: TriggerEvent | None) -> None:
                if not done.done():
                    done.set_result(event)

            armed: list[Armed] = []
            for i, (trigger, at) in enumerate(zip(triggers, paths, strict=True)):
                armed += trigger.arm(binder, at, i, fired)
            if timeout is not None:
                due = run.due(timeout)
                armed.append(
                    run.timers.start(
                        due,
                        lambda late: fired(None),
                        name=f"automation {run.automation} wait",
                        saved=run.checkpoint(where, "wait", due),
                        late=due <= run.hub.clock.time(),
                    )
                )
            try:
                event = await done
            finally:
                for item in armed:
                    item.cancel()
            run.variables["wait"] = {"trigger": event, "timed_out": event is None}
            run.trace.steps[-1].result = "timed out" if event is None else f"{event.kind} fired"
            if event is None and not go_on:
                raise WaitTimeout(f"{where}: nothing fired within {self.timeout}")

        return BoundStep(where, "wait", wait)


class SceneAction(msgspec.Struct, tag_field="action", tag="scene", forbid_unknown_fields=True):
    """Apply a scene: the named set of device states in the file's ``scenes:``."""

    scene: str

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        scene = binder.scenes.get(self.scene)
        if scene is None:
            raise BindError(
                (*path, "scene"),
                f"no scene {self.scene!r}; expected one of {', '.join(sorted(binder.scenes)) or 'none'}"
                " (define it under 'scenes:' in the file)",
            )
        commands = bind_scene(scene, binder, (*path, "scene"))
        where = _where(path)

        async def apply(run: Run) -> None:
            for i, (home, device, kind, target, args) in enumerate(commands):
                await run.submit(home, device, kind, target, args, at=(where, i))

        return BoundStep(where, "scene", apply)


def bind_scene(scene: dict[str, dict[str, Any]], binder: Binder, path: Path) -> list[SceneCommand]:
    """The commands that put each device of ``scene`` in its state: ``action:`` (with
    ``args:``) runs an action, every other key writes that property."""
    out: list[SceneCommand] = []
    for ref, state in scene.items():
        home, device = binder.device(ref, path)
        wanted: list[tuple[Literal["set", "action"], str, dict[str, Any]]] = []
        rest = dict(state)
        action, args = rest.pop("action", None), rest.pop("args", {})
        if action is not None:
            binder.action(home, device, str(action), path)
            wanted.append(("action", str(action), dict(args)))
        elif args:
            raise BindError(path, f"{ref}: 'args' goes with 'action'")
        for name, value in rest.items():
            wanted.append(("set", binder.prop(home, device, name, path).name, {"value": value}))
        for kind, target, cargs in wanted:
            _check(binder, path, (home, device, kind, target, cargs), f"{ref}: ")
            out.append((home, device, kind, target, cargs))
    return out


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
        where = _where(path)
        resumable = [
            *((f"{where}.choices[{i}].actions", steps) for i, (_, steps) in enumerate(branches)),
            (f"{where}.default", default),
        ]

        def choose(run: Run) -> Awaitable[None] | None:
            resumed = _resumed(run, resumable)
            if resumed is not None:
                return execute(resumed[0], run, resumed[1])
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
        where = _where(path)
        resumable = ((f"{where}.then", then), (f"{where}.else", other))

        def if_then(run: Run) -> Awaitable[None] | None:
            resumed = _resumed(run, resumable)
            if resumed is not None:
                return execute(resumed[0], run, resumed[1])
            return execute(then if all(c() for c in checks) else other, run)

        return BoundStep(where, "if", if_then)


class Sequence(msgspec.Struct, tag_field="action", tag="sequence", forbid_unknown_fields=True):
    """Run ``actions`` one after the other (a group, for ``parallel``)."""

    actions: list[ActionConfig]

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        steps = bind_steps(self.actions, binder, (*path, "actions"))
        where = _where(path)
        prefix = f"{where}.actions"
        return BoundStep(where, "sequence", lambda run: execute(steps, run, run.resume_index(prefix) or 0))


class Parallel(msgspec.Struct, tag_field="action", tag="parallel", forbid_unknown_fields=True):
    """Run each of ``actions`` at the same time; done when all are."""

    actions: list[ActionConfig]

    def bind(self, binder: Binder, path: Path) -> BoundStep:
        steps = bind_steps(self.actions, binder, (*path, "actions"))
        where = _where(path)

        def parallel(run: Run) -> Awaitable[None] | None:
            run.fence(where)
            pending = [p for p in (execute((s,), run) for s in steps) if p is not None]
            if not pending:
                return None
            return _gather(pending)

        return BoundStep(_where(path), "parallel", parallel)


async def _gather(pending: list[Awaitable[None]]) -> None:
    await asyncio.gather(*pending)


ActionConfig = (
    Command
    | SetProperty
    | Notify
    | Delay
    | Wait
    | SceneAction
    | Variables
    | Choose
    | IfThen
    | Sequence
    | Parallel
)


def bind_steps(actions: list[ActionConfig], binder: Binder, path: Path) -> list[BoundStep]:
    return [a.bind(binder, (*path, i)) for i, a in enumerate(actions)]
