"""What a trigger hands the engine when it fires, and what arming returns.

``TriggerEvent`` is the record of one firing (kept in the run's variables and trace);
``Armed`` is anything a trigger leaves behind that must be cancelled when its automation
goes: a bus subscription (property, device event or command result) or a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from carhome.wire.automations import TriggerEvent

Fire = Callable[[TriggerEvent], None]


class Armed(Protocol):
    """What a trigger keeps registered while its automation is loaded."""

    def cancel(self) -> None: ...
