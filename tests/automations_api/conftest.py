"""The ``rig`` fixture of the automation API tests (``api_rig``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from api_rig import Rig, open_rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in open_rig(tmp_path):
        yield made
