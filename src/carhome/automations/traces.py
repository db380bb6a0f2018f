"""Traces: what each run of an automation did — trigger, conditions, every step, timing.

A trace is kept per run (the last ``traces`` runs of each automation, set in the
automation). A run that the mode dropped still leaves a trace saying so and why.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import msgspec

from carhome.wire import automations as wire


class StepTrace(wire.StepTrace, kw_only=True):
    """One action of a run (the wire's fields, ``carhome.wire.automations.StepTrace``), and
    how a runner records its end."""

    def done(self, t0: int, result: Any = None) -> None:
        self.duration_ms = (time.perf_counter_ns() - t0) / 1e6
        self.status = "done"
        if result is not None:
            self.result = result

    def fail(self, t0: int, exc: BaseException) -> None:
        self.duration_ms = (time.perf_counter_ns() - t0) / 1e6
        self.status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
        self.error = f"{type(exc).__name__}: {exc}"


class Trace(wire.Trace, kw_only=True):
    """One run of one automation (the wire's fields, ``carhome.wire.automations.Trace``)."""

    steps: list[StepTrace] = msgspec.field(default_factory=list)  # type: ignore[assignment] # the runner's own steps

    def step(self, path: str, kind: str, now: float) -> StepTrace:
        record = StepTrace(path=path, kind=kind, started=now)
        self.steps.append(record)
        return record

    def end(self, status: str, now: float, reason: str | None = None) -> None:
        self.status = status
        self.ended = now
        if reason is not None:
            self.reason = reason


class TraceLog:
    """The latest traces of every automation, newest last."""

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}
        # Made at an automation's first run: thousands of automations that have not run
        # yet hold no deque each.
        self._by_automation: dict[str, deque[Trace]] = {}

    def keep(self, automation: str, size: int) -> None:
        self._sizes[automation] = size = max(1, size)
        kept = self._by_automation.get(automation)
        if kept is not None:
            self._by_automation[automation] = deque(kept, maxlen=size)

    def add(self, trace: Trace) -> None:
        kept = self._by_automation.get(trace.automation)
        if kept is None:
            kept = self._by_automation[trace.automation] = deque(maxlen=self._sizes[trace.automation])
        kept.append(trace)

    def get(self, automation: str) -> list[Trace]:
        return list(self._by_automation.get(automation, ()))

    def forget(self, automation: str) -> None:
        self._sizes.pop(automation, None)
        self._by_automation.pop(automation, None)
