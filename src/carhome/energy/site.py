"""A home's grid connection as the charging controllers see it: the meter, the fuse, the sun.

``GridConfig`` names the grid meter device and its properties — the net power (W, + import,
− export) or import and export apart, the phase currents (A) — the main fuse (A per phase),
and optionally an inverter and its production property. Another part (a SunSpec or Shelly
connector, MQTT) reports those properties to the hub; ``Site`` only reads them.

Every charging controller of the home joins the site and tells it what its plan wants now
and what its charger draws. The site answers each one with a cap (``share_fuse``: the
house's phase currents never exceed the fuse, the headroom shared between the wallboxes)
and, for cars in a solar mode, the measured surplus it may use — the export plus what the
cars draw now, given to the solar cars in the order they joined. A meter reading that
changes wakes every controller whose cap or share changed, so a charger is told within
one measurement period. A meter silent for ``SILENT_S`` leaves each charger its least
current, and the controllers say so.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Final, Protocol, Self

import msgspec

from carhome.energy.fuse import Draw, share_fuse
from carhome.hub import Hub
from carhome.hub.states import Change

log: Final = logging.getLogger(__name__)

SILENT_S: Final = 60.0
"""A meter that has reported nothing for this long (clock seconds) is not believed."""


class InverterConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    device: str
    power: str = "power"
    """Its production, W (kW when the device's spec says so)."""


class GridConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The home's grid meter and main fuse, for load management and measured solar surplus."""

    meter: str
    """The grid meter device."""
    main_fuse: Annotated[float, msgspec.Meta(gt=0)]
    """The main fuse, A per phase: the wallboxes never take the house above it."""
    power: str | None = "power"
    """Its net power property, W: + import, − export (None when import and export are apart)."""
    import_power: str | None = None
    export_power: str | None = None
    currents: tuple[str, ...] = ("current_l1", "current_l2", "current_l3")
    """Its phase current properties, A, L1 to L3 (one for a single-phase house)."""
    reserve: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    """Amperes kept free below the fuse."""
    inverter: InverterConfig | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """The meter as the hub holds it now."""

    at: float | None  # clock time of its newest value
    net_w: float | None
    currents: tuple[float, float, float] | None
    production_w: float | None


class Member(Protocol):
    """What the site asks of each charging controller of the home."""

    @property
    def key(self) -> tuple[str, str]: ...

    def demand(self) -> Demand | None:
        """What it wants now and draws, or None when it has no charger the site can cap."""
        ...

    def wake(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Demand:
    phases: tuple[int, ...]
    volts: float  # per phase
    wanted_a: float  # what the plan asks for now, before the cap (0: nothing; a solar car's floor)
    least_a: float
    most_a: float
    drawing_a: float  # the lesser of what the charger reports and what it was allowed
    solar: bool  # in a solar mode: it takes the measured surplus


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the site allows one charger now."""

    cap_a: int | None  # None: no meter with currents, no cap
    surplus_w: float | None  # for a solar car: the surplus it may take (None: not measured)
    silent: bool  # the meter has said nothing for too long: the cap is the least current


class Site:
    """One home's grid connection, shared by its charging controllers."""

    def __init__(self, hub: Hub, home: str, grid: GridConfig | None) -> None:
        self.hub = hub
        self.home = home
        self.grid = grid
        self.members: list[Member] = []
        self._last: dict[tuple[str, str], Allowance] = {}
        self._subscriptions = contextlib.ExitStack()

    def join(self, member: Member) -> None:
        self.members.append(member)

    def leave(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)

    async def __aenter__(self) -> Self:
        grid = self.grid
        if grid is not None:
            watched = [
                (grid.meter, p) for p in (grid.power, grid.import_power, grid.export_power, *grid.currents)
            ]
            if grid.inverter is not None:
                watched.append((grid.inverter.device, grid.inverter.power))
            for device, prop in watched:
                if prop is not None:
                    self._subscriptions.enter_context(
                        self.hub.bus.subscribe(self._changed, home=self.home, device=device, name=prop)
                    )
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._subscriptions.close()

    # -- reading the meter ---------------------------------------------------------------

    def _watts(self, device: str, prop: str | None) -> tuple[float | None, float | None]:
        if prop is None:
            return None, None
        state = self.hub.state(self.home, device).get(prop)
        if state is None or not isinstance(state.value, int | float):
            return None, None
        spec = self.hub.spec(self.home, device).properties.get(prop)
        scale = 1000.0 if spec is not None and (spec.unit or "").lower() == "kw" else 1.0
        return float(state.value) * scale, state.ts

    def reading(self) -> Reading:
        grid = self.grid
        if grid is None:
            return Reading(None, None, None, None)
        stamps: list[float] = []
        net, ts = self._watts(grid.meter, grid.power)
        stamps += [ts] if ts is not None else []
        if net is None and grid.import_power is not None:
            imported, ts_i = self._watts(grid.meter, grid.import_power)
            exported, ts_e = self._watts(grid.meter, grid.export_power)
            if imported is not None:
                net = imported - (exported or 0.0)
                stamps += [t for t in (ts_i, ts_e) if t is not None]
        amps: list[float] = []
        for prop in grid.currents:
            value, ts = self._watts(grid.meter, prop)  # amperes: the same reading, no scale
            if value is None:
                amps = []
                break
            amps.append(abs(value))
            stamps.append(ts or 0.0)
        currents = (*amps, *[0.0] * (3 - len(amps))) if amps else None
        production = None
        if grid.inverter is not None:
            production, _ = self._watts(grid.inverter.device, grid.inverter.power)
        return Reading(
            at=min(stamps) if stamps else None,
            net_w=net,
            currents=currents,  # type: ignore[arg-type]
            production_w=production,
        )

    # -- what each charger may have -------------------------------------------------------------

    def allowances(self) -> dict[tuple[str, str], Allowance]:
        """Each member's cap and solar share, from the reading in hand."""
        demands = {m.key: d for m in self.members if (d := m.demand()) is not None}
        grid = self.grid
        if grid is None or not demands:
            return {key: Allowance(None, None, silent=False) for key in demands}
        reading = self.reading()
        silent = reading.at is None or self.hub.clock.time() - reading.at > SILENT_S
        if silent:
            return {key: Allowance(int(d.least_a), None, silent=True) for key, d in demands.items()}
        surplus = self._solar_shares(reading, demands)
        caps: dict[tuple[str, str], int | None] = dict.fromkeys(demands)
        if reading.currents is not None:
            draws = []
            for k, d in demands.items():
                wanted = d.wanted_a
                if k in surplus:  # a solar car wants what its share of the sun gives, at least its floor
                    wanted = max(wanted, surplus[k] / (len(d.phases) * d.volts))
                draws.append(Draw(f"{k[0]}/{k[1]}", d.phases, min(wanted, d.most_a), d.least_a, d.drawing_a))
            shares = share_fuse(grid.main_fuse, reading.currents, draws, reserve=grid.reserve)
            caps = {key: shares[f"{key[0]}/{key[1]}"] for key in demands}
        return {key: Allowance(caps[key], surplus.get(key), silent=False) for key in demands}

    def _solar_shares(
        self, reading: Reading, demands: dict[tuple[str, str], Demand]
    ) -> dict[tuple[str, str], float]:
        """The measured surplus, W, for each solar car: the first that can start takes what it can."""
        if reading.net_w is None:
            return {}
        # what would be exported if the cars drew nothing
        left = -reading.net_w + sum(d.drawing_a * len(d.phases) * d.volts for d in demands.values())
        shares: dict[tuple[str, str], float] = {}
        for key, d in demands.items():
            if not d.solar:
                continue
            watts_per_amp = len(d.phases) * d.volts
            available = max(0.0, left)
            take = min(available, d.most_a * watts_per_amp)
            if take < d.least_a * watts_per_amp:
                shares[key] = available  # too little to start: it passes to the next solar car
                continue
            shares[key] = take
            left -= take
        return shares

    def allowance(self, key: tuple[str, str]) -> Allowance:
        """What member ``key`` may have now (noted, so it is woken only when it changes)."""
        found = self.allowances().get(key, Allowance(None, None, silent=False))
        self._last[key] = found
        return found

    def changed(self, by: Member | None = None) -> None:
        """A member's demand or the meter changed: wake each member whose allowance moved."""
        found = self.allowances()
        for member in self.members:
            if member is by:
                continue
            if found.get(member.key) != self._last.get(member.key):
                member.wake()  # it takes its new allowance (and notes it) when it steps

    def _changed(self, change: Change) -> None:
        self.changed()
