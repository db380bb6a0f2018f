"""A car driving a route: the speed profile along it.

The driver accelerates gently up to each segment's limit, and brakes in time — at a
comfortable deceleration — for slower segments, corners, red lights and the end of the
route, so the speed at every point is at most ``sqrt(v_next² + 2·b·d)`` for each limit
``v_next`` that lies ``d`` metres ahead. Traffic lights stand at the route's junctions;
with a random source, some are red and hold the car for a while. ``advance`` moves the
car by one short step; the car integrates its energy over the same steps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from carhome.sim.routes import Route

_CRAWL_MS = 1.0  # the last metres to a stop are rolled, not approached asymptotically


@dataclass(frozen=True)
class Driver:
    """How briskly the car is driven, and how often the lights are red."""

    accel: float = 1.5  # m/s², a calm start from a light
    decel: float = 1.8  # m/s², planned braking
    max_decel: float = 3.5  # m/s², what the brakes do when a limit comes sooner than planned
    red_chance: float = 0.4
    red_wait: tuple[float, float] = (10.0, 70.0)  # s, how long a red light holds the car


class Drive:
    """The car's progress along one route: distance ``s`` (m) and speed ``v`` (m/s)."""

    def __init__(self, route: Route, driver: Driver | None = None, rng: random.Random | None = None) -> None:
        self.route = route
        self.driver = driver or Driver()
        self.s = 0.0
        self.v = 0.0
        self.done = False
        self.waiting = 0.0  # seconds left at a red light
        self._limits = list(route.constraints)
        self._red: dict[float, float] = {}
        if rng is not None:
            lo, hi = self.driver.red_wait
            reds = [at for at in route.junctions if rng.random() < self.driver.red_chance]
            self._red = {at: rng.uniform(lo, hi) for at in reds}
            self._limits = [(at, 0.0 if at in self._red else limit) for at, limit in self._limits]

    def target_speed(self) -> float:
        """The highest speed allowed here, given the limits ahead."""
        route, b = self.route, self.driver.decel
        target = route.segments[route.segment_at(self.s)].limit_ms
        for at, limit in self._limits:
            ahead = at - self.s
            if ahead <= 0:
                continue
            target = min(target, math.sqrt(limit * limit + 2.0 * b * ahead))
        return max(target, _CRAWL_MS)

    def _next_stop(self) -> float:
        return min(at for at, limit in self._limits if limit == 0.0 and at > self.s)

    def advance(self, h: float) -> float:
        """Drive for ``h`` seconds (keep it short, ≤ 0.5 s); return the metres covered."""
        if self.done:
            return 0.0
        if self.waiting > 0:
            self.waiting = max(0.0, self.waiting - h)
            return 0.0
        v0, target = self.v, self.target_speed()
        if v0 < target:
            v1 = min(v0 + self.driver.accel * h, target)
        else:
            v1 = max(v0 - self.driver.max_decel * h, target)
        ds = (v0 + v1) / 2.0 * h
        stop = self._next_stop()
        if self.s + ds >= stop:
            ds = stop - self.s
            self.s, self.v = stop, 0.0
            if stop >= self.route.length_m:
                self.done = True
            else:
                self.waiting = self._red.pop(stop)
                self._limits = [(at, lim) for at, lim in self._limits if at != stop]
            return ds
        self.s += ds
        self.v = v1
        return ds

    def position(self) -> tuple[float, float, float]:
        return self.route.position(self.s)
