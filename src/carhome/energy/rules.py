"""The rule modes (``NOW``, ``SOLAR``, ``SOLAR_MIN``) played forward slot by slot.

Each rule car takes, in each slot, what its mode allows: the most it can draw (its
charger, its taper at the end of the slot, its share of the connection) capped by what it
still needs. Rule cars go first, in the order given; what they leave of the connection and
the solar surplus is what the smart plan works with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carhome.energy.highs import FloatArray
from carhome.energy.modes import Mode
from carhome.energy.problem import CarProblem, Problem


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """Power per rule car (kW per slot) and what they take off each connection and the site."""

    power: dict[int, FloatArray]
    connection_used: dict[int, FloatArray]  # by position in ``Problem.connections``
    site_used: FloatArray


def max_power(cp: CarProblem, t: int, energy: float, hours: float) -> float:
    """The most car ``cp`` can draw on average in slot ``t`` from ``energy`` kWh.

    The taper bounds power by the state of charge at the end of the slot, so a slot's
    power is one the car can hold all through it.
    """
    share = float(cp.share[t])
    cap, eta = cp.car.capacity.kwh, cp.car.efficiency
    best = share * cp.max_kw
    for a, b in cp.car.lines:
        best = min(best, share * (a + b * energy / cap) / (1.0 - share * b * eta * hours / cap))
    return max(0.0, best)


def play_rules(problem: Problem) -> RuleOutcome:
    n = problem.size
    used = {k: np.zeros(n) for k in range(len(problem.connections))}
    conn_of = {i: k for k, (_, members) in enumerate(problem.connections) for i in members}
    site = np.zeros(n)
    power: dict[int, FloatArray] = {}
    rule_cars = [cp for cp in problem.cars if cp.car.mode.is_rule and cp.last >= 0]
    energy = {cp.index: cp.start_kwh for cp in rule_cars}
    for cp in rule_cars:
        power[cp.index] = np.zeros(n)
    for t in range(n):
        hours = float(problem.hours[t])
        if hours <= 0:
            continue
        surplus = max(0.0, float(problem.solar[t] - problem.load[t]))
        for cp in rule_cars:
            if cp.share[t] <= 0:
                continue
            mode, eta, e = cp.car.mode, cp.car.efficiency, energy[cp.index]
            room = max_power(cp, t, e, hours)
            k = conn_of.get(cp.index)
            if k is not None:
                room = min(room, problem.connections[k][0] - float(used[k][t]))
            goal = cp.need_kwh if mode is Mode.NOW else cp.limit_kwh
            wanted = max(0.0, (goal - e) / (eta * hours))
            floor = cp.min_kw * float(cp.share[t])
            # Below the charger's minimum a car cannot charge, except to finish: it then
            # runs at the minimum for part of the slot and stops at its own charge limit.
            finishing = False
            if mode is Mode.NOW:
                p, finishing = min(room, wanted), True
            elif mode is Mode.SOLAR:
                p = min(room, wanted, surplus)
            else:  # SOLAR_MIN: the minimum until the target, and surplus beyond it
                finishing = e < cp.need_kwh
                p = min(room, wanted, max(floor if finishing else 0.0, surplus))
            if p < floor and (room < floor or not finishing):
                p = 0.0
            power[cp.index][t] = p
            energy[cp.index] = e + eta * hours * p
            surplus = max(0.0, surplus - p)
            site[t] += p
            if k is not None:
                used[k][t] += p
    return RuleOutcome(power=power, connection_used=used, site_used=site)
