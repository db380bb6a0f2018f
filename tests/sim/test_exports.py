"""The simulator's public surface, pinned: a change to it is a decision, not an accident."""

from __future__ import annotations

import carhome.sim


def test_public_names() -> None:
    assert len(set(carhome.sim.__all__)) == len(carhome.sim.__all__)
    assert {
        "SimHome",
        "SimRunner",
        "SimDevice",
        "SimCar",
        "SimEvent",
        "LinkFactory",
        "DeviceLink",
        "Outdoor",
        "RouteBook",
    } <= set(carhome.sim.__all__)
    for name in carhome.sim.__all__:
        assert getattr(carhome.sim, name) is not None
