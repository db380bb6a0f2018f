"""The ``rig`` fixture of the automation API tests (``api_rig``): each test runs with what
the API saves kept as files of the data directory, and in PostgreSQL (a schema of the
test's own on the session's throwaway cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_rig import Rig, open_rig

from pgcluster import own_database


@pytest.fixture(params=["files", pytest.param("postgres", marks=pytest.mark.postgres)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    if request.param == "files":
        async for made in open_rig(tmp_path):
            yield made
        return
    async with own_database(request) as database:
        async for made in open_rig(tmp_path, database):
            yield made
