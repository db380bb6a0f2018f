"""One car's charging, carried out: watch the hub, keep a plan, turn it into commands.

A ``ChargingController`` owns the plan of one car. It wakes when something a plan is made
from changes — the car is plugged in or out, the charger's status moves, the user picks
another mode, target or departure, new prices or forecasts arrive — and at every slot
boundary. Then it asks the planner (``carhome.energy.make_plan``; ``replan_reasons`` says
whether the plan in force still holds) and carries out the slot at hand:

- through a charger (a wallbox device, OCPP or MQTT): the slot's power becomes a current
  setpoint, sent as ``set current_limit`` — the OCPP connector turns it into a
  ``SetChargingProfile`` (``TxProfile`` during a transaction, ``TxDefaultProfile`` before
  one). A slot without power pauses: with a wallbox spec that allows a 0 A limit the
  profile says 0 A and the session stays open; with today's spec (6–32 A) the car is told
  to stop and start (``pause_via_car``: ordinary commands, and a session is never ended) or
  else the session is stopped (``stop_charging``) and started again (``start_charging``,
  a safety-critical command that needs the member's signature where signatures are
  required) when power returns;
- through the car, when no charger is configured: ``StartStopCharging`` START/STOP and
  the car's charge limit.

Every command goes through ``Hub.submit`` as the configured member with face
``automation``, so the access gatekeeper decides on it like on any other; no phone is in
the loop, so it goes ``delegated`` (the hub's signer signs a charging start where an owner
delegated charging on that charger, before the gatekeeper decides). A command is
sent again only when what is wanted changes or the last one failed — and one that failed
(the charger rejected it, the gatekeeper refused it) is not sent again for ``RETRY_S``:
each attempt is a command, an audit entry and a message to the charger, so a charger that
keeps saying no hears the question once a minute, not as fast as it can answer. A charger
that comes back online is told again at once. Time comes only from the hub's clock.

Command ids are derived (``carhome.hub.derived_id``) from the home, the car, the device, the
slot the decision is for, the command (kind, target, arguments) and how many times this
controller asked the same of the same device in that slot before. A controller that starts
again over the same slot — the hub restarted, or another worker took the home over — and
decides the same thing makes the same id: the hub refuses it as taken and the controller
follows the command already made (its result counts as this decision's) instead of sending a
second one. Asking again in the slot (after a failure, or a charger that came back) counts
up, so it is a new command.

It listens on the hub's bus to its own car and charger only — the properties above, their
availability and the results of commands to them — and closes those subscriptions when it
exits: a controller that has stopped is called by nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self, get_args
from zoneinfo import ZoneInfo

from carhome.clock import sleep_or_wake
from carhome.energy.cars import Car, Departure, OneOffDeparture
from carhome.energy.chargers import Charger
from carhome.energy.forecasts import SiteForecast
from carhome.energy.joint import PlanState, SharedLine
from carhome.energy.modes import Mode
from carhome.energy.planner import make_plan
from carhome.energy.plans import Plan
from carhome.energy.problem import PlanRequest
from carhome.energy.providers.feed import Feed
from carhome.energy.replan import replan_reasons
from carhome.energy.seriesfile import load_series, past_warning
from carhome.energy.site import Allowance, Demand, Site
from carhome.energy.units import Energy, Soc
from carhome.errors import CarhomeError, ConfigError, DuplicateCommand
from carhome.hub import Availability, Change, Command, CommandStatus, Hub, Result, derived_id
from carhome.prices.series import QUARTER_HOUR, SlotSeries
from carhome.prices.tariffs import DynamicTariff, FixedTariff, Tariff
from carhome.spec import vss

log: Final = logging.getLogger(__name__)

FACE: Final = "automation"
RETRY_S: Final = 60.0
"""After a failed command, the same target is not sent again for this long (clock seconds)."""
RESEND_S: Final = 120.0
"""A start or stop the charger accepted but whose effect is not seen yet is sent again after this."""
COMMAND_TTL: Final = 60.0
SILENT_METER: Final = "the grid meter has said nothing for a minute: charging at the least current"

# Wallbox statuses (the wallbox spec) with a car at the connector, and with a session open.
ProblemCode = Literal[
    "no_session",
    "command_failed",
    "not_sent",
    "no_prices",
    "file_unreadable",
    "file_invalid",
    "internal",
    "silent_meter",
]
"""The kinds of problem the controller reports; each face has words for each (the web's
``charts.problem.<code>``), and the English sentence beside it carries the details."""
PROBLEM_CODES: Final[tuple[str, ...]] = get_args(ProblemCode)

PLUGGED: Final = frozenset({"preparing", "charging", "suspended_ev", "suspended_evse", "finishing"})
IN_SESSION: Final = frozenset({"charging", "suspended_ev", "suspended_evse"})


@dataclass(frozen=True, slots=True)
class CarSetup:
    """What does not change while the hub runs: which car, which charger, who acts."""

    home: str
    car: str
    member: str
    charger_device: str | None
    charger: Charger
    capacity: Energy
    efficiency: float = 0.9
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    feed_in: Tariff = field(default_factory=lambda: FixedTariff(0.0))
    house_load_kw: float = 0.0
    tariff_file: Path | None = None
    solar_file: Path | None = None
    pause_via_car: bool = False
    """Hold charging through the car (StartStopCharging) when the charger cannot be held at 0 A."""
    grid_phases: tuple[int, ...] | None = None
    """The house's phases the charger is wired to (load management): all three for a
    three-phase charger, L1 for a one-phase charger unless said otherwise."""

    @property
    def phases_on_grid(self) -> tuple[int, ...]:
        if self.grid_phases is not None:
            return self.grid_phases
        return tuple(range(1, self.charger.phases + 1))


@dataclass(frozen=True, slots=True)
class CarSettings:
    """What the user sets: mode, target, the highest SoC worth taking cheaply, departure."""

    mode: Mode
    target: Soc
    departure: Departure
    limit: Soc | None = None


@dataclass(frozen=True, slots=True)
class Setpoint:
    """What the controller wants now: charge at ``amps`` (through a charger) or ``on``."""

    on: bool
    amps: int = 0
    power_kw: float = 0.0


@dataclass(slots=True)
class ControllerStatus:
    """What the controller last did and why, for the API and the CLI."""

    plugged: bool = False
    in_session: bool = False
    setpoint: Setpoint | None = None
    reasons: tuple[str, ...] = ()
    problem: str | None = None
    problem_code: ProblemCode | None = None
    """What kind of problem (``PROBLEM_CODES``), for the faces to put in their own words;
    ``problem`` says it in English with the details."""
    plans: int = 0
    commands: int = 0
    failed_commands: int = 0

    def trouble(self, code: ProblemCode, text: str) -> None:
        """Note a problem: its code for the faces, its sentence for people and logs."""
        self.problem_code = code
        self.problem = text

    def clear(self) -> None:
        self.problem_code = None
        self.problem = None


class ChargingController:
    """Plans and charges one car; an async context manager that runs until it exits."""

    def __init__(
        self,
        hub: Hub,
        setup: CarSetup,
        settings: CarSettings,
        tariff: Tariff,
        *,
        forecast: SiteForecast | None = None,
        slot: timedelta = QUARTER_HOUR,
        line: SharedLine | None = None,
        site: Site | None = None,
    ) -> None:
        self.hub = hub
        self.setup = setup
        self._base_settings = settings
        self.settings = settings
        self.tariff = tariff
        self.forecast = forecast or SiteForecast()
        self.slot = slot
        self.plan: Plan | None = None
        self.status = ControllerStatus()
        self.line = line
        """The cars sharing this car's connection, planned together (None: planned alone)."""
        self.site = site
        """The home's grid meter and fuse (None: no load management, no measured surplus)."""
        self._state = line.state if line is not None else PlanState()
        self.sources: list[Feed] = []
        """Where the prices and forecasts come from, for their age and warnings."""
        self.allowance: Allowance | None = None
        self._wanted_a = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscriptions = contextlib.ExitStack()
        self._mtimes: dict[Path, float] = {}
        # what was last asked of the device, so a command is sent once per change
        self._sent_amps: int | None = None
        self._sent_amps_at: float | None = None  # clock time the current limit was last changed
        self._sent_on: tuple[bool, float] | None = None  # (on, clock time sent)
        self._sent_limit: int | None = None
        self._mine: set[str] = set()
        self._limit_pending: str | None = None  # a current limit not yet answered
        self._held: dict[str, float] = {}  # target → clock time before which it is not sent again
        # The slot (its start) the commands' ids count in, and how often each command
        # (device, kind, target, arguments) was asked in it: the last part of their ids.
        self._asked_slot = 0.0
        self._asked: dict[bytes, int] = {}
        self._stepped_at = 0.0
        self.stepped = asyncio.Event()
        """Set after every step (tests and faces wait on it, never on time)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.setup.home, self.setup.car)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        home, car, charger = self.setup.home, self.setup.car, self.setup.charger_device
        watched = [(car, vss.CABLE_CONNECTED), (car, vss.IS_CHARGING), (car, vss.SOC)]
        if charger is not None:
            watched.append((charger, "status"))
        bus, subs = self.hub.bus, self._subscriptions
        for device, prop in watched:
            subs.enter_context(bus.subscribe(self._changed, home=home, device=device, name=prop))
        for device in (car,) if charger is None else (car, charger):
            subs.enter_context(bus.subscribe(self._availability, kind=Availability, home=home, device=device))
            subs.enter_context(bus.subscribe(self._on_result, kind=Result, home=home, device=device))
        for group in (self.line, self.site):
            if group is not None:
                group.join(self)
        self._task = asyncio.create_task(self._run(), name=f"charging-{home}-{car}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._subscriptions.close()
        for group in (self.line, self.site):
            if group is not None:
                group.leave(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- what users change ----------------------------------------------------------------

    def set_mode(self, mode: Mode) -> None:
        self.settings = replace(self.settings, mode=mode)
        self._base_settings = replace(self._base_settings, mode=mode)
        self._wake.set()

    def set_target(self, target: Soc, departure: Departure | None = None) -> None:
        """A new target; with ``departure``, a one-off departure that holds until it passes."""
        if self.settings.limit is not None and self.settings.limit < target:
            raise ConfigError(f"the target {target} is above the car's limit {self.settings.limit}")
        self.settings = replace(self.settings, target=target, departure=departure or self.settings.departure)
        self._wake.set()

    def set_prices(self, series: SlotSeries) -> None:
        """Prices known slot by slot from now on (day-ahead prices, say)."""
        self.tariff = DynamicTariff(series)
        self._wake.set()

    def set_forecast(self, forecast: SiteForecast) -> None:
        self.forecast = forecast
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # -- watching the hub -----------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        if change.prop != vss.SOC or change.old is None:
            self._wake.set()  # the state of charge wakes it only the first time it is known

    def _availability(self, seen: Availability) -> None:
        # its car or charger (the subscriptions' keys): one that comes back may have lost
        # what it was told: tell it again, now
        self._sent_amps = None
        self._sent_on = None
        if seen.online:
            self._held.clear()
        self._wake.set()

    def _on_result(self, result: Result) -> None:
        if result.final:
            self._result(result.command)

    def _result(self, command: Command) -> None:
        if command.id not in self._mine:
            return
        self._mine.discard(command.id)
        if command.id == self._limit_pending:
            self._limit_pending = None
            self._wake.set()  # a start waits for its limit to be in place
        if command.status is CommandStatus.ACKED:
            return
        self.status.failed_commands += 1
        self.status.trouble(
            "command_failed", f"{command.target} {command.status}: {command.error or 'no reason given'}"
        )
        log.warning("charging %s/%s: %s", self.setup.home, self.setup.car, self.status.problem)
        self._forget(command.target)
        self._hold(command.target)
        self._wake.set()

    def _hold(self, target: str) -> None:
        """Send ``target`` again no sooner than ``RETRY_S`` from now."""
        self._held[target] = self.hub.clock.time() + RETRY_S

    def _forget(self, target: str) -> None:
        if target in ("current_limit",):
            self._sent_amps = None
        elif target == vss.CHARGE_LIMIT:
            self._sent_limit = None
        else:
            self._sent_on = None

    # -- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not stop the car being charged later
                log.exception("charging %s/%s: step failed", self.setup.home, self.setup.car)
                self.status.trouble("internal", f"internal error: {exc}")
            await self._sleep_until_due()

    async def _sleep_until_due(self) -> None:
        clock = self.hub.clock
        now = clock.time()
        # the boundary after the time the last step planned for: a step that ran across a
        # boundary (a slow solve, a clock that jumped) is followed by another at once
        due = self._next_boundary(self._stepped_at).timestamp()
        waiting = [at for at in self._held.values() if at > now]
        if waiting:
            due = min(due, *waiting)
        await sleep_or_wake(clock.sleep(max(0.0, due - now)), self._wake, name="charging")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.hub.clock.time(), self.setup.zone)

    def _next_boundary(self, now: float) -> datetime:
        here = datetime.fromtimestamp(now, self.setup.zone)
        epoch = datetime(2000, 1, 1, tzinfo=self.setup.zone)
        start = here - (here - epoch) % self.slot
        return start + self.slot

    async def step(self) -> None:
        """Replan if needed and carry out the slot at hand (the loop calls it; tests may)."""
        try:
            await self._reload_files()
            now = self._now()
            self._stepped_at = now.timestamp()
            if isinstance(self.settings.departure, OneOffDeparture) and self.settings.departure.at <= now:
                self.settings = replace(self.settings, departure=self._base_settings.departure)
            plugged = self._plugged()
            self.status.plugged = plugged
            self.status.in_session = self._in_session()
            request = self._request_at(now, plugged)
            await self._replan(request, now)
            clock_now = self.hub.clock.time()
            self._held = {target: at for target, at in self._held.items() if at > clock_now}
            await self._carry_out(now, plugged)
        finally:
            self.stepped.set()

    # -- planning ---------------------------------------------------------------------------

    def _plugged(self) -> bool:
        home = self.setup.home
        if self.setup.charger_device is not None:
            status = self.hub.value(home, self.setup.charger_device, "status")
            if status is not None:
                return status in PLUGGED
        return bool(self.hub.value(home, self.setup.car, vss.CABLE_CONNECTED, False))

    def _in_session(self) -> bool:
        if self.setup.charger_device is not None:
            return self.hub.value(self.setup.home, self.setup.charger_device, "status") in IN_SESSION
        return bool(self.hub.value(self.setup.home, self.setup.car, vss.IS_CHARGING, False))

    def _soc(self) -> Soc:
        value = self.hub.value(self.setup.home, self.setup.car, vss.SOC)
        if value is None:
            return self.settings.target  # no reading yet: nothing is planned until there is one
        return Soc.percent(min(100.0, max(0.0, float(value))))

    def _car(self, plugged: bool, mode: Mode | None = None) -> Car:
        s = self.settings
        return Car(
            id=self.setup.car,
            capacity=self.setup.capacity,
            soc=self._soc(),
            target=s.target,
            departure=s.departure,
            charger=self.setup.charger,
            efficiency=self.setup.efficiency,
            limit=s.limit,
            plugged_in=plugged,
            mode=mode or s.mode,
        )

    def _request_at(self, now: datetime, plugged: bool) -> PlanRequest:
        forecast = self.forecast
        kw = self.setup.house_load_kw
        if kw > 0 and forecast.load is None:
            # a flat load, as a series from local midnight, so it changes once a day only
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            forecast = replace(forecast, load=SlotSeries.of(midnight, [kw] * 3 * 96, slot=QUARTER_HOUR))
        return PlanRequest(
            now=now,
            cars=self.line.cars() if self.line is not None else (self._car(plugged),),
            tariff=self.tariff,
            feed_in=self.setup.feed_in,
            forecast=forecast,
            slot=self.slot,
        )

    def car_now(self) -> Car:
        """The car as it is now (a shared line plans every car of it from these)."""
        return self._car(self._plugged())

    async def _replan(self, request: PlanRequest, now: datetime) -> None:
        state = self._state
        async with state.lock:
            reasons = {str(r) for r in replan_reasons(state.request, state.plan, request)}
            slot_start = self._next_boundary(now.timestamp()) - self.slot
            if state.slot_start is not None and slot_start != state.slot_start:
                reasons.add("slot")
            if not reasons and state.plan is not None:
                self.plan = state.plan  # a car on the same line may have made it
                return
            state.slot_start = slot_start
            try:
                plan = await asyncio.to_thread(make_plan, request)
                self.status.clear()
            except ConfigError as exc:
                # No prices known ahead: charging to the target beats not charging at all.
                self.status.trouble("no_prices", f"{exc.reason}; charging now until prices arrive")
                log.warning("charging %s/%s: %s", self.setup.home, self.setup.car, self.status.problem)
                now_cars = tuple(replace(c, mode=Mode.NOW) for c in request.cars)
                fallback = replace(request, tariff=FixedTariff(0.0), cars=now_cars)
                plan = await asyncio.to_thread(make_plan, fallback)
            state.plan, state.request = plan, request
        self.plan = plan
        self.status.plans += 1
        self.status.reasons = tuple(sorted(reasons))
        log.info(
            "charging %s/%s: new plan (%s): %.1f kWh, cost %.2f",
            self.setup.home,
            self.setup.car,
            ", ".join(self.status.reasons),
            plan.car(self.setup.car).energy_kwh,
            plan.charging_cost,
        )
        if self.line is not None:
            self.line.replanned(self)

    async def _reload_files(self) -> None:
        """Read the price and solar files again when they changed on disk."""
        setup = self.setup
        for path, solar in ((setup.tariff_file, False), (setup.solar_file, True)):
            if path is None:
                continue
            try:
                mtime = (await asyncio.to_thread(path.stat)).st_mtime
            except OSError as exc:
                self.status.trouble("file_unreadable", f"cannot read {path}: {exc.strerror}")
                continue
            if self._mtimes.get(path) == mtime:
                continue
            try:
                series = await asyncio.to_thread(load_series, path, non_negative=solar)
            except ConfigError as exc:
                self.status.trouble("file_invalid", str(exc))
                log.warning("charging %s/%s: %s", setup.home, setup.car, exc)
                self._mtimes[path] = mtime
                continue
            self._mtimes[path] = mtime
            warning = None if solar else past_warning(series, self._now(), source=str(path))
            if warning is not None:
                log.warning("charging %s/%s: %s", setup.home, setup.car, warning)
            if solar:
                self.forecast = replace(self.forecast, solar=series)
            else:
                self.tariff = DynamicTariff(series)

    # -- carrying it out --------------------------------------------------------------------

    def setpoint(self, now: datetime) -> Setpoint:
        """What the plan in force asks for at ``now``, within what the home's site allows."""
        planned = self._planned(now)
        if self.site is None:
            return planned
        return self._allowed(planned)

    def _planned(self, now: datetime) -> Setpoint:
        if self.plan is None:
            return Setpoint(on=False)
        try:
            kw = self.plan.power_at(self.setup.car, now)
        except KeyError:
            kw = 0.0
        charger = self.setup.charger
        amps = kw * 1000.0 / (charger.phases * charger.voltage)
        if kw <= 1e-6 or amps < charger.min_current - 0.5:
            return Setpoint(on=False)
        amps = min(charger.max_current, max(charger.min_current, amps))
        return Setpoint(on=True, amps=round(amps), power_kw=kw)

    # -- the site: the house's fuse and the measured sun ----------------------------------------

    def demand(self) -> Demand | None:
        """What this car's charger wants and draws now (the site caps chargers only)."""
        device = self.setup.charger_device
        if device is None:
            return None
        charger = self.setup.charger
        phases = self.setup.phases_on_grid
        reported = self.hub.value(self.setup.home, device, "power")
        allowed = float(self._sent_amps or 0) if self._in_session() else 0.0
        metered = 0.0  # unreported: counted as nothing, so the house never looks lighter than it is
        if isinstance(reported, int | float):
            metered = max(0.0, float(reported) / (len(phases) * charger.voltage))
        return Demand(
            phases=phases,
            volts=charger.voltage,
            wanted_a=self._wanted_a,
            least_a=charger.min_current,
            most_a=charger.max_current,
            drawing_a=min(allowed, metered),
            metered_a=metered,
            allowed_at=self._sent_amps_at,
            solar=self.settings.mode in (Mode.SOLAR, Mode.SOLAR_MIN),
        )

    def _allowed(self, planned: Setpoint) -> Setpoint:
        site = self.site
        if site is None:
            return planned
        charger = self.setup.charger
        mode = self.settings.mode
        solar = mode in (Mode.SOLAR, Mode.SOLAR_MIN)
        floor = charger.min_current if mode is Mode.SOLAR_MIN and planned.on else 0.0
        self._wanted_a = floor if solar else (planned.amps if planned.on else 0.0)
        allowance = site.allowance(self.key)
        self.allowance = allowance
        watts_per_amp = len(self.setup.phases_on_grid) * charger.voltage
        wanted = planned
        if solar and allowance.surplus_w is not None:
            # the measured surplus, not the forecast: as much of it as the charger takes
            full = self._soc().fraction >= (self.settings.limit or self.settings.target).fraction
            amps = 0.0 if full else max(floor, allowance.surplus_w / watts_per_amp)
            if amps < charger.min_current:
                wanted = Setpoint(on=False)
            else:
                amps = min(charger.max_current, math.floor(amps + 1e-9))
                wanted = Setpoint(on=True, amps=int(amps), power_kw=amps * watts_per_amp / 1000.0)
        if allowance.silent:
            self.status.trouble("silent_meter", SILENT_METER)
        elif self.status.problem_code == "silent_meter":
            self.status.clear()
        cap = allowance.cap_a
        if cap is not None and wanted.on and wanted.amps > cap:
            if cap < charger.min_current:
                wanted = Setpoint(on=False)
            else:
                wanted = Setpoint(on=True, amps=cap, power_kw=cap * watts_per_amp / 1000.0)
        site.changed(by=self)
        return wanted

    async def _carry_out(self, now: datetime, plugged: bool) -> None:
        wanted = self.setpoint(now) if plugged else Setpoint(on=False)
        self.status.setpoint = wanted
        if not plugged and self.site is not None and self._wanted_a:
            self._wanted_a = 0.0  # its share of the fuse goes to the others
            self.site.changed(by=self)
        if not plugged:
            self._sent_on = None  # start afresh at the next plug-in
            device = self.setup.charger_device
            if device is not None and self.hub.available(self.setup.home, device):
                # An idle charger holds its default at the lowest current, so a session it
                # opens by itself at the next plug-in starts gently until the plan takes over.
                await self._limit(device, int(self._current_range(device)[0]))
            return
        if self.setup.charger_device is None:
            await self._through_car(wanted)
        else:
            await self._through_charger(self.setup.charger_device, wanted)

    async def _through_charger(self, device: str, wanted: Setpoint) -> None:
        in_session = self._in_session()
        low, high = self._current_range(device)
        by_car = low > 0 and self.setup.pause_via_car
        if not wanted.on:
            if low <= 0:
                await self._limit(device, 0)  # a 0 A profile pauses and keeps the session
            elif by_car:
                await self._through_car(wanted)
            elif in_session and self._should_send(on=False):
                await self._send(device, "action", "stop_charging", {})
            return
        amps = int(min(high, max(low, wanted.amps)))
        await self._limit(device, amps)
        if by_car:
            if not in_session:
                self.status.trouble("no_session", "the charger has no session open; start one at the charger")
            await self._through_car(wanted)
            return
        # start only once the limit is in place, so a session never begins at full power
        if not in_session and self._limit_pending is None and self._should_send(on=True):
            await self._send(device, "action", "start_charging", {})

    def _current_range(self, device: str) -> tuple[float, float]:
        """The currents the charger's spec accepts, within the configured charger's."""
        spec = self.hub.spec(self.setup.home, device).properties.get("current_limit")
        low = 6.0 if spec is None or spec.minimum is None else spec.minimum
        high = 32.0 if spec is None or spec.maximum is None else spec.maximum
        charger = self.setup.charger
        if low > 0:  # no 0 A: the least is what both the spec and the charger take
            low = max(low, min(charger.min_current, high))
        return low, min(high, charger.max_current)

    async def _limit(self, device: str, amps: int) -> None:
        if self._sent_amps == amps:
            return
        command = await self._send(device, "set", "current_limit", {"value": amps})
        if command is not None:
            self._sent_amps = amps
            self._sent_amps_at = self.hub.clock.time()
            if not command.status.final:
                self._limit_pending = command.id

    def _should_send(self, *, on: bool) -> bool:
        sent = self._sent_on
        if sent is None or sent[0] != on:
            return True
        return self.hub.clock.time() - sent[1] >= RESEND_S

    async def _through_car(self, wanted: Setpoint) -> None:
        car = self.setup.car
        limit = round(100 * (self.settings.limit or self.settings.target).fraction)
        if wanted.on and self._sent_limit != limit:
            current = self.hub.value(self.setup.home, car, vss.CHARGE_LIMIT)
            if current is None or int(current) < limit:
                if await self._send(car, "set", vss.CHARGE_LIMIT, {"value": max(50, limit)}) is not None:
                    self._sent_limit = limit
            else:
                self._sent_limit = limit
        charging = bool(self.hub.value(self.setup.home, car, vss.IS_CHARGING, False))
        if wanted.on != charging and self._should_send(on=wanted.on):
            await self._send(car, "set", vss.START_STOP_CHARGING, {"value": "START" if wanted.on else "STOP"})

    def _command_id(self, device: str, kind: str, target: str, args: dict[str, Any]) -> str:
        """The id of this decision's command: see the module's docstring."""
        slot = (self._next_boundary(self._stepped_at) - self.slot).timestamp()
        if slot != self._asked_slot:
            self._asked_slot, self._asked = slot, {}
        what = derived_id(device, kind, target, args).encode()
        asked = self._asked.get(what, 0)
        self._asked[what] = asked + 1
        return derived_id(
            "charging", self.setup.home, self.setup.car, slot, device, kind, target, args, asked
        )

    async def _made_before(self, command_id: str) -> Command | None:
        """The command a controller before this one made for the same decision (the hub
        restarted, or the home moved to another worker): it is followed, not sent again."""
        log.debug("charging %s/%s: command %s made already", self.setup.home, self.setup.car, command_id)
        made = self.hub.commands.get(command_id)
        return made if made is not None else await self.hub.store.outbox_get(command_id)

    async def _send(self, device: str, kind: Any, target: str, args: dict[str, Any]) -> Command | None:
        if target in self._held:
            return None  # it failed a moment ago: asked again once RETRY_S has passed
        command_id = self._command_id(device, kind, target, args)
        try:
            command = await self.hub.submit(
                self.setup.home,
                device,
                kind,
                target,
                args,
                member=self.setup.member,
                face=FACE,
                ttl=COMMAND_TTL,
                delegated=True,
                command_id=command_id,
            )
        except DuplicateCommand:
            made = await self._made_before(command_id)
            if made is None:  # pragma: no cover - a taken id is pending, recent or stored
                return None
            command = made
        except CarhomeError as exc:
            self.status.failed_commands += 1
            self.status.trouble("not_sent", f"{target}: {exc}")
            log.warning("charging %s/%s: %s not sent: %s", self.setup.home, self.setup.car, target, exc)
            self._hold(target)
            return None
        self.status.commands += 1
        if target in ("start_charging", "stop_charging", vss.START_STOP_CHARGING):
            self._sent_on = (
                target == "start_charging" or args.get("value") == "START",
                self.hub.clock.time(),
            )
        if not command.status.final:
            self._mine.add(command.id)
        elif command.status is not CommandStatus.ACKED:
            self._mine.add(command.id)
            self._result(command)
        return command
