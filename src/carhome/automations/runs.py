"""Runs: one execution of an automation's actions, and the modes that govern overlap.

A run executes its steps synchronously for as long as they are synchronous (notify,
variables, a choose on current state …) — inside the bus callback that fired it, so such a
run finishes before ``Hub.report`` returns. A step that returns an awaitable (a command, a
delay) is started eagerly, still inside that callback: a command to an in-process device
is made, stored, delivered and acknowledged without the event loop turning, and the run
goes on. Only at the first point that really waits does the rest of the run become a named
task owned by the engine (no task, no loop turn, for a run that never waits).

Modes, with ``max`` set in the automation:

- ``single``: while a run is active, new triggers are dropped;
- ``restart``: an active run is cancelled and a new one starts;
- ``queued``: runs wait their turn, at most ``max`` active or waiting;
- ``parallel``: runs overlap, at most ``max`` at once.

A dropped run leaves a trace with status ``dropped`` and the reason.

Command ids: a run that a trigger fired gives each command an id derived from its cause
(``carhome.hub.derived_id`` of the home, the automation, the firing — ``cause`` — and the
step and the command's place in it), so a firing seen again after a restart or a failover
(the same change, the same timer due time) makes no second command: the hub refuses the id
as taken, and the run takes that as "already made" (its step's trace says so). A run a
person started (no trigger) gets random ids.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
import types
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

import msgspec

from carhome.automations.conditions import Check
from carhome.automations.notifications import Notifications
from carhome.automations.timers import SavedTimer, TimerKind, Timers
from carhome.automations.traces import StepTrace, Trace, TraceLog
from carhome.errors import CommandDenied, DuplicateCommand
from carhome.hub import Hub, derived_id
from carhome.wire.automations import ConditionResult, TriggerEvent

log: Final = logging.getLogger(__name__)

Mode = Literal["single", "restart", "queued", "parallel"]


class Run:
    """The state of one run: its trigger, variables and trace, and what it may use."""

    __slots__ = (
        "_uid",
        "automation",
        "cause",
        "fenced",
        "home",
        "hub",
        "member",
        "notifications",
        "resume_at",
        "resume_due",
        "task",
        "timers",
        "trace",
        "variables",
    )

    def __init__(
        self, runner: Runner, trace: Trace, variables: dict[str, Any], uid: str | None = None
    ) -> None:
        """A run of ``runner``'s automation, fresh (``uid`` None) or resumed after a restart."""
        self.automation = runner.automation
        self.home = runner.home
        self.member = runner.member
        self.hub = runner.hub
        self.notifications = runner.notifications
        self.timers = runner.timers
        self.trace = trace
        self.variables = variables
        self._uid = uid
        # What fired this run, as the parts of its commands' ids (None: a person started it).
        self.cause = firing_cause(variables.get("trigger"))
        # The task the rest of the run became, once it had to wait.
        self.task: asyncio.Task[None] | None = None
        # Set when the run resumes after a restart: the path of the step it resumes at (the
        # composite steps on the way follow it into the branch that was running) and that
        # step's due time.
        self.resume_at: str | None = None
        self.resume_due: float | None = None
        # Paths of ``parallel`` steps this run entered: a wait inside one is not saved, since
        # one saved step cannot stand for several branches at once.
        self.fenced: set[str] | None = None

    @property
    def uid(self) -> str:
        """The run's id in saved timers; made when first asked (most runs never save one)."""
        if self._uid is None:
            self._uid = uuid.uuid4().hex[:16]
        return self._uid

    async def submit(
        self,
        home: str,
        device: str,
        kind: Literal["set", "action"],
        target: str,
        args: dict[str, Any],
        *,
        at: tuple[str, int] = ("", 0),
    ) -> None:
        """Submit a command of this run, as its member from the automation face; only in the
        automation's own home (binding refuses other homes' devices; this holds even so).
        No phone is in the loop, so it goes ``delegated``: the hub's signer signs it where an
        owner delegated its domain on that device, before the gatekeeper decides.

        ``at`` is the step's path and the command's index within the step: with the run's
        ``cause`` they make the command's id, so the same firing replayed makes the same id;
        a taken one means this command was made already (logged, noted in the trace, no
        second command)."""
        if home != self.home:
            raise CommandDenied(
                member=self.member,
                device=f"{home}/{device}",
                target=target,
                reason=f"automation {self.automation} acts in home {self.home!r} only",
            )
        command_id = None
        if self.cause is not None:
            command_id = derived_id(
                "automation", home, self.automation, *self.cause, *at, device, kind, target
            )
        try:
            await self.hub.submit(
                home,
                device,
                kind,
                target,
                args,
                member=self.member,
                face="automation",
                delegated=True,
                command_id=command_id,
            )
        except DuplicateCommand:
            if command_id is None:  # pragma: no cover - a random id is never taken
                raise
            log.debug(
                "automation %s: command %s was made already (replayed firing)", self.automation, command_id
            )
            self._already_made(at[0], command_id)

    def _already_made(self, path: str, command_id: str) -> None:
        """Say in the trace of the step at ``path`` that its command ``command_id`` exists."""
        for record in reversed(self.trace.steps):
            if record.path == path:
                note = f"already made: {command_id}"
                record.result = note if record.result is None else f"{record.result}; {note}"
                return

    def due(self, seconds: float) -> float:
        """When a wait of ``seconds`` starting now ends, or the saved end when resuming."""
        due, self.resume_due, self.resume_at = self.resume_due, None, None
        return self.hub.clock.time() + seconds if due is None else due

    def resume_index(self, prefix: str) -> int | None:
        """When this run resumes inside the steps at ``prefix`` (``actions[2].then``), the
        index of the step to start at; else None."""
        at = self.resume_at
        if at is None or not at.startswith(prefix + "["):
            return None
        rest = at[len(prefix) + 1 :]
        return int(rest[: rest.index("]")])

    def fence(self, path: str) -> None:
        """Mark the ``parallel`` step at ``path``: waits inside it are not saved."""
        if self.fenced is None:
            self.fenced = set()
        self.fenced.add(path)

    def checkpoint(self, path: str, kind: TimerKind, due: float) -> SavedTimer | None:
        """What to persist so this run resumes at ``path`` after a restart: a step at the
        top of the actions or nested in ``if``, ``choose`` and ``sequence`` (not inside
        ``parallel``)."""
        match = _TOP.match(path)
        if match is None or self.timers.store is None:
            return None
        if self.fenced and any(path.startswith(f + ".") for f in self.fenced):
            return None
        variables = {k: v for k, v in self.variables.items() if k != "trigger"}
        try:
            saved_vars = msgspec.to_builtins(variables)
        except TypeError:
            saved_vars = {}
        return SavedTimer(
            key=f"{self.automation}/run/{self.uid}",
            automation=self.automation,
            kind=kind,
            due=due,
            data={
                "step": int(match.group(1)),
                "at": path,
                "trigger": msgspec.to_builtins(self.variables.get("trigger")),
                "variables": saved_vars,
            },
        )


_TOP: Final = re.compile(r"actions\[(\d+)\]")


def firing_cause(event: TriggerEvent | None) -> tuple[Any, ...] | None:
    """What makes a firing this one and no other: the trigger (index, kind), where it fired
    (home, device, property), the value and the change's time — a timer's due time for a
    schedule. Not ``late`` nor ``old``: a replay after a restart may see those differently.
    None for a run with no trigger (a person started it)."""
    if not isinstance(event, TriggerEvent):
        return None
    return (event.index, event.kind, event.home, event.device, event.prop, event.value, event.ts)


StepFn = Callable[[Run], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class BoundStep:
    """An action bound to the hub: its path in the automation (for traces) and its function.

    The function returns ``None`` when it finished synchronously, or an awaitable for the
    part that waits.
    """

    path: str
    kind: str
    fn: StepFn


def execute(steps: Sequence[BoundStep], run: Run, start: int = 0) -> Awaitable[None] | None:
    """Run ``steps`` in order; ``None`` if all finished now, else an awaitable for the rest."""
    now = run.hub.clock.time
    for i in range(start, len(steps)):
        step = steps[i]
        record = run.trace.step(step.path, step.kind, now())
        t0 = time.perf_counter_ns()
        try:
            pending = step.fn(run)
        except Exception as exc:
            record.fail(t0, exc)
            raise
        if pending is not None:
            return _finish(steps, run, i, pending, (record, t0))
        record.done(t0)
    return None


async def _finish(
    steps: Sequence[BoundStep], run: Run, i: int, pending: Awaitable[None], timing: tuple[StepTrace, int]
) -> None:
    record, t0 = timing
    try:
        await pending
    except BaseException as exc:
        record.fail(t0, exc)
        raise
    record.done(t0)
    rest = execute(steps, run, i + 1)
    if rest is not None:
        await rest


class Spawner(Protocol):
    """Whoever owns the runs' tasks (the engine)."""

    def spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]: ...


class Runner:
    """Fires one automation: checks its conditions, applies its mode, starts runs."""

    def __init__(
        self,
        *,
        automation: str,
        home: str | None,
        member: str,
        mode: Mode,
        max_runs: int,
        conditions: Sequence[tuple[str, Check]],
        steps: Sequence[BoundStep],
        variables: dict[str, Any],
        hub: Hub,
        notifications: Notifications,
        traces: TraceLog,
        spawner: Spawner,
        timers: Timers | None = None,
    ) -> None:
        self.automation = automation
        self.home = home
        self.member = member
        self.mode = mode
        self.max = max_runs
        self.conditions = tuple(conditions)
        self.steps = tuple(steps)
        self.variables = variables
        self.hub = hub
        self.notifications = notifications
        self.traces = traces
        self.spawner = spawner
        self.timers = timers or Timers(hub.clock)
        self.active: dict[asyncio.Task[None], Trace] = {}
        # Runs of a ``queued`` automation waiting their turn (a list: most automations
        # never queue, and an empty deque is ten times the size).
        self.queue: list[Run] = []
        self._count = 0
        self.firings = 0
        self.dropped = 0

    def fire(self, event: TriggerEvent | None) -> None:
        """A trigger fired (or a person asked): start a run if conditions and mode allow."""
        now = self.hub.clock.time()
        self._count += 1
        trace = Trace(automation=self.automation, run=self._count, started=now, trigger=event)
        self.traces.add(trace)
        for path, check in self.conditions:
            passed = check()
            trace.conditions.append(ConditionResult(path, passed))
            if not passed:
                trace.end("skipped", now, f"condition {path} was false")
                return None
        self.firings += 1
        variables = dict(self.variables)
        variables["trigger"] = event
        run = Run(self, trace, variables)
        busy = len(self.active) + len(self.queue)
        if busy:
            if self.mode == "single":
                return self._drop(trace, now, "mode single: a run is already active")
            if self.mode == "restart":
                for task in list(self.active):
                    task.cancel()
            elif busy >= self.max:
                return self._drop(trace, now, f"mode {self.mode}: already {busy} runs (max {self.max})")
            elif self.mode == "queued":
                self.queue.append(run)
                return None
        self._start(run)
        return None

    def _drop(self, trace: Trace, now: float, reason: str) -> None:
        self.dropped += 1
        trace.end("dropped", now, reason)

    def resume(self, saved: SavedTimer) -> None:
        """Continue a run that was waiting (a delay, a wait) when the hub stopped."""
        now = self.hub.clock.time()
        self._count += 1
        raw = saved.data.get("trigger")
        event = None if raw is None else msgspec.convert(raw, TriggerEvent)
        trace = Trace(automation=self.automation, run=self._count, started=now, trigger=event)
        trace.resumed = saved.data.get("step")
        self.traces.add(trace)
        variables = {**self.variables, **saved.data.get("variables", {}), "trigger": event}
        run = Run(self, trace, variables, uid=saved.key.rsplit("/", 1)[-1])
        run.resume_due = saved.due
        step = int(saved.data.get("step", 0))
        run.resume_at = str(saved.data.get("at") or f"actions[{step}]")
        self.firings += 1
        self._start(run, int(saved.data.get("step", 0)))

    def _start(self, run: Run, start: int = 0) -> None:
        try:
            pending = execute(self.steps, run, start)
        except Exception as exc:
            self._failed(run.trace, exc)
            return
        if pending is None:
            run.trace.end("finished", self.hub.clock.time())
            return
        # Eagerly: the run goes on here until it really waits (or ends, with no task at all).
        rest = self._complete(run, pending)
        try:
            waiting = rest.send(None)
        except StopIteration:
            return
        task = self.spawner.spawn(_go_on(rest, waiting), f"automation {self.automation} run {run.trace.run}")
        task.add_done_callback(lambda done: _abandon(done, rest))
        run.task = task
        self.active[task] = run.trace

    async def _complete(self, run: Run, pending: Awaitable[None]) -> None:
        try:
            await pending
        except asyncio.CancelledError:
            run.trace.end("cancelled", self.hub.clock.time(), "cancelled (restart or shutdown)")
            raise
        except Exception as exc:
            self._failed(run.trace, exc)
        else:
            run.trace.end("finished", self.hub.clock.time())
        finally:
            if run.task is not None:
                self.active.pop(run.task, None)
            while self.mode == "queued" and self.queue and not self.active:
                self._start(self.queue.pop(0))

    def _failed(self, trace: Trace, exc: Exception) -> None:
        log.warning("automation %s run %d failed: %s", self.automation, trace.run, exc)
        trace.end("failed", self.hub.clock.time(), f"{type(exc).__name__}: {exc}")


async def _go_on(rest: Coroutine[Any, Any, None], waiting: Any) -> None:
    await _resume(rest, waiting)


@types.coroutine
def _resume(rest: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, Any, None]:
    """Go on with a run started eagerly: ``waiting`` is what it waits on (what its first
    step yielded); from there on the task drives it as if it had started it."""
    try:
        while True:
            try:
                answer = yield waiting
            except BaseException as exc:  # a cancel (or any throw) goes on into the run
                waiting = rest.throw(exc)
            else:
                waiting = rest.send(answer)
    except StopIteration:
        return


def _abandon(task: asyncio.Task[None], rest: Coroutine[Any, Any, None]) -> None:
    """A run's task cancelled before its first step never entered ``_resume``: end the run
    here, as a cancel reaching it would (its trace says so)."""
    if task.cancelled() and inspect.getcoroutinestate(rest) == inspect.CORO_SUSPENDED:
        try:
            rest.throw(asyncio.CancelledError())
        except (asyncio.CancelledError, StopIteration):
            pass
        except Exception:  # pragma: no cover - the run's own handlers record failures
            log.exception("run ended badly after its cancel")
