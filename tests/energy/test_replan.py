"""When a plan goes stale, and the planner hook that replans."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from carhome.energy import Mode, Planner, ReplanReason, Soc

from .builders import car
from .test_planner import request


def test_replans_on_each_change_and_not_otherwise() -> None:
    planner = Planner()
    first = request((car(target=0.5),), [0.3, 0.1, 0.2, 0.4])
    plan, reasons = planner.update(first)
    assert reasons == {ReplanReason.FIRST}
    same, reasons = planner.update(first)
    assert reasons == frozenset()
    assert same is plan

    cheaper = request((car(target=0.5),), [0.1, 0.3, 0.2, 0.4])
    new, reasons = planner.update(cheaper)
    assert reasons == {ReplanReason.PRICES}
    assert new.cars[0].power_kw[0] == 1.0

    _, reasons = planner.update(request((car(target=0.75),), [0.1, 0.3, 0.2, 0.4]))
    assert reasons == {ReplanReason.TARGET}
    unplugged = replace(car(target=0.75), plugged_in=False)
    _, reasons = planner.update(request((unplugged,), [0.1, 0.3, 0.2, 0.4]))
    assert reasons == {ReplanReason.PLUG}
    _, reasons = planner.update(request((car(target=0.75, mode=Mode.NOW),), [0.1, 0.3, 0.2, 0.4]))
    assert ReplanReason.MODE in reasons
    sunny = request((car(target=0.75, mode=Mode.NOW),), [0.1, 0.3, 0.2, 0.4], solar=[1.0])
    _, reasons = planner.update(sunny)
    assert reasons == {ReplanReason.SOLAR}


def test_replans_when_the_soc_strays_from_the_path() -> None:
    planner = Planner(soc_tolerance=0.02)
    prices = [0.1, 0.3, 0.2, 0.4]
    planner.update(request((car(target=0.5),), prices))  # 1 kW in slot 0: 25 % an hour
    half_hour = timedelta(minutes=30)
    on_path = replace(car(target=0.5), soc=Soc(0.125))
    later = request((on_path,), prices)
    _, reasons = planner.update(replace(later, now=later.now + half_hour))
    assert reasons == frozenset()
    behind = replace(car(target=0.5), soc=Soc(0.05))
    later = request((behind,), prices)
    _, reasons = planner.update(replace(later, now=later.now + half_hour))
    assert reasons == {ReplanReason.SOC}
