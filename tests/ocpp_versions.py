"""The OCPP versions a simulated wallbox speaks, as a fixture for the areas that drive one
(OCPP, charging, history): a test asking for ``version`` runs once for each. Imported by
those areas' conftests, not the root one, so the name reaches no other test."""

from __future__ import annotations

import pytest

from carhome.testing.wallbox import Version


@pytest.fixture(params=["1.6", "2.0.1"])
def version(request: pytest.FixtureRequest) -> Version:
    v: Version = request.param
    return v
