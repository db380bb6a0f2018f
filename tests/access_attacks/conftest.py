"""Fixtures of the attack tests: the access parts and a hub (``attack_rig``), on the shared fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from attack_rig import attack_hub, make_access

from carhome.access.service import Access
from carhome.hub import Hub
from carhome.testing import FakeClock


@pytest.fixture
async def access(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Access]:
    async with make_access(tmp_path / "data", clock) as made:
        yield made


@pytest.fixture
async def hub(clock: FakeClock, access: Access) -> AsyncIterator[Hub]:
    async with attack_hub(clock, access) as made:
        yield made
