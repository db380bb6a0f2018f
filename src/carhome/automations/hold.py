"""``for:`` durations: a trigger's condition must hold this long before it fires.

A ``Hold`` is started when the condition becomes true and stopped when it stops holding;
if it runs out it fires once. Holds of an automation's own triggers are persisted under
the key ``<automation>/triggers[i]/for`` so a restart resumes them (and one that came due
while the hub was down fires at start, marked late).
"""

from __future__ import annotations

import msgspec

from carhome.automations.binding import Binder, Path
from carhome.automations.firing import Fire
from carhome.automations.timers import SavedTimer, Timer
from carhome.wire.automations import TriggerEvent


def where(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class Hold:
    """One trigger's ``for:`` timer."""

    __slots__ = ("_binder", "_fire", "_key", "_timer", "duration")

    def __init__(self, binder: Binder, path: Path, duration: float, fire: Fire) -> None:
        self._binder = binder
        self._fire = fire
        self.duration = duration
        # Only an automation's own triggers persist; a wait's trigger lives within a run.
        self._key = f"{binder.automation}/{where(path)}/for" if path[:1] == ("triggers",) else None
        self._timer: Timer | None = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self, event: TriggerEvent) -> None:
        if self._timer is None:
            due = self._binder.hub.clock.time() + self.duration
            self._arm(due, event, late=False)

    def restart(self, event: TriggerEvent) -> None:
        self.stop()
        self.start(event)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    cancel = stop

    def resume(self, holds: bool) -> bool:
        """Take back the timer saved before a restart if the condition still holds."""
        if self._key is None:
            return False
        saved = self._binder.timers.take(self._key)
        if saved is None:
            return False
        if not holds:
            self._binder.timers.discard(saved)
            return False
        event = msgspec.convert(saved.data["event"], TriggerEvent)
        self._arm(saved.due, event, late=saved.due <= self._binder.hub.clock.time())
        return True

    def _arm(self, due: float, event: TriggerEvent, *, late: bool) -> None:
        saved = None
        if self._key is not None:
            saved = SavedTimer(
                key=self._key,
                automation=self._binder.automation,
                kind="for",
                due=due,
                data={"event": msgspec.to_builtins(event)},
            )

        def done(was_late: bool) -> None:
            self._timer = None
            now = self._binder.hub.clock.time()
            self._fire(msgspec.structs.replace(event, ts=now, late=was_late))

        self._timer = self._binder.timers.start(
            due, done, name=f"automation {self._binder.automation} for", saved=saved, late=late
        )
