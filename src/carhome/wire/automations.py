"""Automations and scenes on the wire: listings, one automation with its text, checks,
saves refused line by line, traces of runs, scenes and what applying one did.

A trace is the automations part's record of one run; its fields are declared here
(``carhome.automations.traces`` adds the behaviour that fills them in).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from carhome.hub.commands import Command


class TriggerEvent(msgspec.Struct, frozen=True, gc=False):
    """What fired: the trigger's index and kind, and the change that did it.

    ``late`` is true when the firing was due while the hub was down and happened at start.
    """

    index: int
    kind: str
    home: str
    device: str
    prop: str
    value: Any
    old: Any
    ts: float
    late: bool = False


class ConditionResult(msgspec.Struct, frozen=True):
    path: str
    passed: bool


class StepTrace(msgspec.Struct, kw_only=True):
    """One action of a run: where it sits, when it started, how long it took, how it ended."""

    path: str
    kind: str
    started: float
    duration_ms: float = 0.0
    status: str = "running"  # running | done | failed | cancelled
    error: str | None = None
    result: Any = None
    late: bool = False


class Trace(msgspec.Struct, kw_only=True):
    """One run of one automation."""

    automation: str
    run: int
    started: float
    trigger: TriggerEvent | None
    conditions: list[ConditionResult] = msgspec.field(default_factory=list)
    steps: list[StepTrace] = msgspec.field(default_factory=list)
    status: str = "running"  # running | finished | failed | cancelled | dropped | skipped
    reason: str | None = None
    ended: float | None = None
    # The step a run resumed at after a hub restart, or None for a run that started here.
    resumed: int | None = None


class AutomationOut(msgspec.Struct, kw_only=True):
    id: str
    alias: str
    home: str | None
    mode: str
    enabled: bool
    file: str
    line: int | None
    firings: int
    dropped: int
    active: int
    queued: int


class AutomationDetail(AutomationOut, kw_only=True):
    """One automation with its text. ``origin`` says what kind of file it is in: ``saved``
    (written by the API; deletable), ``data`` (hand-written under the data directory),
    ``package`` (shipped with carhome) or ``external``; ``overrides`` names the file whose
    automation of the same id this one wins over, if any."""

    origin: str
    overrides: str | None
    text: str


class CheckRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``replace``: the id of the automation the text is to replace (an editor's check of
    an edit), which is then not reported as already loaded."""

    text: str
    file: str = "<api>"
    replace: str | None = None


class AutomationText(msgspec.Struct, forbid_unknown_fields=True):
    """A YAML file's text holding one automation (``home:``, ``scenes:``, ``automations:``)."""

    text: str


class CheckError(msgspec.Struct):
    file: str | None
    line: int | None
    message: str


class CheckResult(msgspec.Struct):
    errors: list[CheckError]


class SavingError(msgspec.Struct):
    """One reason a save was refused: where (line, and the path inside the automation
    when known, e.g. ``triggers[0].device``) and what is wrong."""

    line: int | None
    path: str | None
    message: str


class Deleted(msgspec.Struct):
    """What a delete did: ``restored`` is the automation of a read-only file that the
    deleted one overrode, back in its place (None when there was none)."""

    deleted: str
    restored: AutomationDetail | None


class TraceList(msgspec.Struct):
    automation: str
    traces: list[Trace]


class SceneStep(msgspec.Struct):
    device: str
    kind: Literal["set", "action"]
    target: str
    args: dict[str, Any]


class SceneOut(msgspec.Struct, kw_only=True):
    """A scene: each device's wanted state as written, and the commands that apply it
    (``error`` says why there are none, when its file names what the hub does not have)."""

    id: str
    name: str
    home: str
    states: dict[str, dict[str, Any]]
    steps: list[SceneStep]
    error: str | None = None


class SceneRefusal(msgspec.Struct):
    device: str
    target: str
    status: int
    reason: str


class SceneApplied(msgspec.Struct):
    scene: str
    home: str
    commands: list[Command]
    refused: list[SceneRefusal]
