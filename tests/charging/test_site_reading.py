"""What a charger drew in a meter reading: a cut told after the reading is not in it yet.

Two cars at 10 A on a 25 A fuse, the house at 9 A on L1: the meter reads 29 A. Each car's
controller takes this one reading in turn. The first is cut to 8 A; if the second then took
that 8 A for what the first drew, the house would look 2 A heavier and the second would be
cut to 7 A, the first (stepping again on the same reading) to 11 A and the second off — the
cars cutting each other within one reading, and a car stopped with room for both.
"""

from __future__ import annotations

from carhome.energy.fuse import Draw, share_fuse
from carhome.energy.site import Demand, Reading

VOLTS = 230.0
FUSE = 25.0
READ_AT = 100.0
READING = Reading(at=READ_AT, net_w=None, currents=(29.0, 25.0, 25.0), production_w=None)


def car(allowed: float, told_at: float) -> Demand:
    """A car metering 10 A a phase, allowed ``allowed`` since ``told_at``."""
    return Demand(
        phases=(1, 2, 3),
        volts=VOLTS,
        wanted_a=16.0,
        least_a=6.0,
        most_a=16.0,
        drawing_a=min(allowed, 10.0),
        solar=False,
        metered_a=10.0,
        allowed_at=told_at,
    )


def shares(demands: dict[str, Demand]) -> dict[str, int]:
    draws = [Draw(k, d.phases, d.wanted_a, d.least_a, d.drawing_in(READING)) for k, d in demands.items()]
    return share_fuse(FUSE, READING.currents or (), draws)


def test_a_cut_told_after_the_reading_is_counted_as_the_meter_saw_it() -> None:
    cut = car(8.0, told_at=READ_AT)  # told at the moment of the reading, or after: not in it
    assert cut.drawing_in(READING) == 10.0
    assert shares({"car": cut, "car2": car(10.0, told_at=READ_AT - 60)}) == {"car": 8, "car2": 8}


def test_a_cut_told_before_the_reading_counts_no_more_than_allowed() -> None:
    earlier = car(8.0, told_at=READ_AT - 5)  # the reading may show the cut: never more than allowed
    assert earlier.drawing_in(READING) == 8.0
    never = car(10.0, told_at=READ_AT - 60)
    assert never.drawing_in(Reading(at=None, net_w=None, currents=None, production_w=None)) == 10.0
