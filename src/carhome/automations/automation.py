"""An automation as written: triggers, conditions and actions in a mode.

Decoded from YAML by ``carhome.automations.loader`` into these structs (unknown keys are
errors); bound to a hub by ``carhome.automations.engine``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from carhome.automations.actions import ActionConfig
from carhome.automations.conditions import ConditionConfig
from carhome.automations.runs import Mode
from carhome.automations.triggers import TriggerConfig

_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,127}")


class Automation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One automation.

    ``home`` is the home it acts in: its plain device names refer to it (``device`` rather
    than ``home/device``), and it reaches no other; ``member`` is who its commands are
    submitted as, a member of that home (a hub with access control refuses an automation
    without one; the API fills in the member who saves it); ``max`` bounds the
    runs active (and, for ``queued``, waiting) at once; ``traces`` is how many runs' traces
    are kept; ``scenes`` are the named sets of device states its ``scene`` actions apply
    (a file's ``scenes:`` are given to each of its automations).
    """

    id: str
    triggers: list[TriggerConfig]
    actions: list[ActionConfig]
    conditions: list[ConditionConfig] = msgspec.field(default_factory=list)
    alias: str = ""
    description: str = ""
    home: str | None = None
    member: str | None = None
    mode: Mode = "single"
    max: int = 10
    variables: dict[str, Any] = msgspec.field(default_factory=dict)
    traces: int = 5
    enabled: bool = True
    scenes: dict[str, dict[str, dict[str, Any]]] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"id {self.id!r}: use lower-case letters, digits, '_', '-' or '.'")
        if not self.triggers:
            raise ValueError("an automation needs at least one trigger")
        if self.max < 1:
            raise ValueError("max must be at least 1")
