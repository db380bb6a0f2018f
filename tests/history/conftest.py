"""The simulated week, recorded once per test session, for every history test that reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from history_rig import Week, record_week_sync


@pytest.fixture(scope="session")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    return record_week_sync(tmp_path_factory.mktemp("week"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path
