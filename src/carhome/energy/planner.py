"""Make a plan: rule cars played forward, smart cars solved exactly around them.

``make_plan(request)`` is pure: it reads only the request and returns a ``Plan``. See
``carhome.energy.replan`` for when to call it again.
"""

from __future__ import annotations

import numpy as np

from carhome.energy.modes import Mode
from carhome.energy.plans import CarPlan, Plan, site_cost
from carhome.energy.problem import PlanRequest, Problem
from carhome.energy.rules import play_rules
from carhome.energy.solver import solve_smart


def make_plan(request: PlanRequest) -> Plan:
    """The plan for every car in ``request`` (see ``Problem`` for the horizon)."""
    problem = Problem.of(request)
    rules = play_rules(problem)
    smart = solve_smart(problem, rules)
    n, hours = problem.size, problem.hours
    cars: list[CarPlan] = []
    total = np.zeros(n)
    for cp in problem.cars:
        power = rules.power.get(cp.index, smart.power.get(cp.index, np.zeros(n)))
        total += power
        cap, eta = cp.car.capacity.kwh, cp.car.efficiency
        energy = cp.start_kwh + np.concatenate(([0.0], np.cumsum(eta * hours * power)))
        reached = float(energy[cp.last + 1]) if cp.last >= 0 else cp.start_kwh
        shortfall = max(0.0, cp.need_kwh - reached) if cp.last >= 0 else 0.0
        if cp.index in smart.shortfall:
            shortfall = smart.shortfall[cp.index]
        if cp.last < 0 and cp.car.plugged_in and cp.car.mode is not Mode.OFF:
            shortfall = max(0.0, cp.need_kwh - cp.start_kwh)
        cars.append(
            CarPlan(
                car_id=cp.car.id,
                mode=cp.car.mode,
                power_kw=tuple(float(x) for x in power),
                soc=tuple(float(x) for x in np.minimum(energy / cap, 1.0)),
                target_soc=cp.car.target.fraction,
                departure=cp.car.departure.next_after(request.now),
                energy_kwh=float(np.sum(hours * power)),
                shortfall_kwh=shortfall if shortfall > 1e-6 else 0.0,
            )
        )
    base = problem.load - problem.solar
    net = base + total
    cost = site_cost(hours, problem.price, problem.feed_in, net)
    surplus = np.maximum(-base, 0.0)
    from_solar = float(np.sum(hours * np.minimum(total, surplus)))
    return Plan(
        made_at=request.now,
        starts=problem.starts,
        end=problem.end,
        hours=tuple(float(h) for h in hours),
        price=tuple(float(x) for x in problem.price),
        feed_in=tuple(float(x) for x in problem.feed_in),
        solar_kw=tuple(float(x) for x in problem.solar),
        load_kw=tuple(float(x) for x in problem.load),
        cars=tuple(cars),
        grid_kw=tuple(float(x) for x in net),
        cost=cost,
        charging_cost=cost - site_cost(hours, problem.price, problem.feed_in, base),
        energy_from_grid_kwh=float(np.sum(hours * total)) - from_solar,
        energy_from_solar_kwh=from_solar,
        solves=smart.solves,
    )
