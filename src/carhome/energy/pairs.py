"""Two chargers on one connection in one slot: the convex hull of what they can draw together.

Each charger draws 0 or from its minimum to its maximum, and together they draw no more
than the connection leaves them. The linear relaxation sees only ``[0, max]`` per charger
and the shared limit, so in every slot where the line is full it takes splits no pair of
chargers can run: on an 11.04 kW line whose chargers start at 4.14 kW and top out at
11 kW, (11, 0.04). Such a split costs the same as a runnable one, (6.9, 4.14), but each
is one more slot below a minimum for the search to branch on — tens of them in a night.

The pair's runnable set in a slot is a union of a point, two segments and a polygon; its
convex hull is a polygon of a handful of edges. ``pair_cuts`` returns the edges that face
up and right (both weights positive) and are not the shared limit itself: as rows
``wx·x + wy·y ≤ rhs`` they cut off every split no pair can run and no split one can, so
the optimum is unchanged and the relaxation of each full slot is exact.
"""

from __future__ import annotations

import functools
from typing import Final

Cut = tuple[float, float, float]  # wx, wy, rhs: wx·x + wy·y ≤ rhs

_EPS: Final = 1e-9


@functools.lru_cache(maxsize=4096)
def pair_cuts(least_x: float, most_x: float, least_y: float, most_y: float, room: float) -> tuple[Cut, ...]:
    """The hull's edges for chargers x and y, each 0 or in ``[least, most]``, with ``x + y ≤ room``."""
    top_x, top_y = min(most_x, room), min(most_y, room)
    points = [(0.0, 0.0)]
    if least_x <= top_x:
        points.append((top_x, 0.0))
    if least_y <= top_y:
        points.append((0.0, top_y))
    if least_x <= most_x and least_y <= most_y and least_x + least_y <= room + _EPS:
        # the polygon where both run: a ≤ x ≤ A, b ≤ y ≤ B, x + y ≤ C
        corners = [
            (least_x, least_y),
            (min(most_x, room - least_y), least_y),
            (least_x, min(most_y, room - least_x)),
            (most_x, min(most_y, room - most_x)),
            (min(most_x, room - most_y), most_y),
        ]
        points += [
            (x, y)
            for x, y in corners
            if least_x - _EPS <= x <= most_x + _EPS and least_y - _EPS <= y <= most_y + _EPS
        ]
    cuts: list[Cut] = []
    hull = _hull(points)
    for (x0, y0), (x1, y1) in zip(hull, hull[1:] + hull[:1], strict=True):
        wx, wy = y1 - y0, x0 - x1  # outward normal of a counter-clockwise edge
        if wx <= _EPS or wy <= _EPS:
            continue  # a bound of one charger alone, which the columns have already
        scale = max(wx, wy)
        wx, wy = wx / scale, wy / scale
        rhs = wx * x0 + wy * y0
        if abs(wx - wy) <= _EPS and rhs >= room - _EPS:
            continue  # the shared limit: the connection's own row
        cuts.append((wx, wy, rhs))
    return tuple(cuts)


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= _EPS:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= _EPS:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]
