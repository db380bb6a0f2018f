"""Time-based triggers: a time of day, a cron expression, sunrise or sunset at the home.

Each computes its next due time in the home's timezone (so 07:30 stays 07:30 across a
daylight-saving change), waits for it on the hub clock through the engine's ``Timers``,
fires, and computes the next. Cron expressions are parsed by ``croniter``; sunrise and
sunset come from ``astral`` for the home's latitude and longitude.

The next due time of an automation's own schedule is saved (key
``<automation>/triggers[i]/at``). If the hub was down when it came due, the trigger fires
once at start, marked late — once, however many times it would have fired meanwhile — and
then goes on from the present.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

import msgspec
from astral import Observer
from astral.sun import sunrise, sunset
from croniter import CroniterBadCronError, croniter  # type: ignore[import-untyped]

from carhome.automations.binding import Binder, BindError, Path
from carhome.automations.durations import signed_seconds
from carhome.automations.firing import Armed, Fire
from carhome.automations.hold import where
from carhome.automations.timers import SavedTimer, Timer
from carhome.wire.automations import TriggerEvent

_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")

NextDue = Callable[[float], float]


def clock_time(text: str, path: Path) -> time:
    """``07:30`` or ``07:30:15`` as a time of day."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise BindError(path, f"time {text!r}: expected HH:MM or HH:MM:SS (24-hour)")
    h, m, s = match.groups()
    return time(int(h), int(m), int(s or 0))


def next_time_of_day(at: time, tz: tzinfo, after: float) -> float:
    """The first moment strictly after ``after`` when the home's clock shows ``at``.

    A time of day names the first of two repeated clock readings (the clock going back) and,
    on the day a clock skips it, the moment the skip ends — whatever ``fold`` ``at``
    carries: with ``fold=1`` Python reads a skipped time with the later offset, which shows
    a moment *before* the skipped one.
    """
    at = at.replace(fold=0)
    day = datetime.fromtimestamp(after, tz).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), at, tz).timestamp()
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a time of day recurs within two days")  # pragma: no cover


class _Schedule:
    """Fires at each due time ``next_due`` gives, for as long as it is armed."""

    def __init__(
        self,
        binder: Binder,
        kind: str,
        home: str,
        next_due: NextDue,
        *,
        path: Path,
        index: int,
        fire: Fire,
    ) -> None:
        self._binder = binder
        self._kind = kind
        self._home = home
        self._next = next_due
        self._index = index
        self._fire = fire
        self._timer: Timer | None = None
        # Only an automation's own triggers persist; a wait's trigger lives within a run.
        self._key = f"{binder.automation}/{where(path)}/at" if path[:1] == ("triggers",) else None
        now = binder.hub.clock.time()
        missed = binder.timers.take(self._key) if self._key is not None else None
        if missed is not None and missed.due <= now:
            self._start(missed.due, late=True)
        else:
            self._start(self._next(now), late=False)

    def _start(self, due: float, *, late: bool) -> None:
        saved = None
        if self._key is not None:
            saved = SavedTimer(key=self._key, automation=self._binder.automation, kind="schedule", due=due)
        self._timer = self._binder.timers.start(
            due,
            lambda was_late: self._due(due, was_late),
            name=f"automation {self._binder.automation} {self._kind}",
            saved=saved,
            late=late,
        )

    def _due(self, due: float, late: bool) -> None:
        # After a late firing, the next due time counts from now, not from the missed one.
        self._start(self._next(max(due, self._binder.hub.clock.time()) if late else due), late=False)
        value = datetime.fromtimestamp(due, self._binder.timezone(self._home, ())).isoformat()
        event = TriggerEvent(self._index, self._kind, self._home, "", self._kind, value, None, due, late=late)
        self._fire(event)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _home(binder: Binder, home: str | None, path: Path) -> str:
    name = home or binder.home
    if name is None:
        raise BindError((*path, "home"), "a time trigger needs its home: set 'home:' on it or the automation")
    binder.timezone(name, (*path, "home"))
    return name


class TimeOfDay(msgspec.Struct, tag_field="trigger", tag="time", forbid_unknown_fields=True, kw_only=True):
    """Every day at ``at`` (``07:30``) in the home's timezone."""

    at: str
    home: str | None = None

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        at = clock_time(self.at, (*path, "at"))
        home = _home(binder, self.home, path)
        tz = binder.timezone(home, path)
        return [
            _Schedule(
                binder,
                "time",
                home,
                lambda after: next_time_of_day(at, tz, after),
                path=path,
                index=index,
                fire=fire,
            )
        ]


class Cron(msgspec.Struct, tag_field="trigger", tag="cron", forbid_unknown_fields=True, kw_only=True):
    """A five-field cron expression (``0 7 * * 1-5``) in the home's timezone."""

    cron: str
    home: str | None = None

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        if len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            raise BindError(
                (*path, "cron"),
                f"cron {self.cron!r}: expected five fields, minute hour day month weekday (0 7 * * 1-5)",
            )
        home = _home(binder, self.home, path)
        tz, expr = binder.timezone(home, path), self.cron

        def next_due(after: float) -> float:
            try:
                it = croniter(expr, datetime.fromtimestamp(after, tz))
                return float(it.get_next(float))
            except CroniterBadCronError as exc:  # pragma: no cover - checked above
                raise BindError((*path, "cron"), str(exc)) from None

        return [_Schedule(binder, "cron", home, next_due, path=path, index=index, fire=fire)]


class Sun(msgspec.Struct, tag_field="trigger", tag="sun", forbid_unknown_fields=True, kw_only=True):
    """Sunrise or sunset at the home, shifted by ``offset`` (``-30m``: half an hour before)."""

    event: Literal["sunrise", "sunset"]
    offset: float | str = 0
    home: str | None = None

    def arm(self, binder: Binder, path: Path, index: int, fire: Fire) -> list[Armed]:
        offset = signed_seconds(self.offset, (*path, "offset"))
        home = _home(binder, self.home, path)
        tz = binder.timezone(home, path)
        where = binder.hub.home(home)
        observer = Observer(latitude=where.lat, longitude=where.lon)
        at = sunrise if self.event == "sunrise" else sunset

        def next_due(after: float) -> float:
            day = datetime.fromtimestamp(after, tz).date() - timedelta(days=1)
            for i in range(400):
                when = sun_time(at, observer, day + timedelta(days=i), tz)
                if when is not None and when + offset > after:
                    return when + offset
            raise BindError(path, f"no {self.event} at this home within a year")

        next_due(binder.hub.clock.time())  # polar homes fail here, at load
        return [_Schedule(binder, self.event, home, next_due, path=path, index=index, fire=fire)]


def sun_time(at: Callable[..., datetime], observer: Observer, day: date, tz: tzinfo) -> float | None:
    """Sunrise or sunset on ``day`` as a timestamp; ``None`` when the sun does not rise or set."""
    try:
        return at(observer, date=day, tzinfo=tz).timestamp()
    except ValueError:  # polar day or night
        return None
