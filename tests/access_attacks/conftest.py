"""Fixtures of the attack tests: the access parts with their members (``members_rig``) and a hub
(``attack_rig``), on the shared fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from attack_rig import attack_hub

from carhome.access.service import Access
from carhome.hub import Hub
from carhome.testing import FakeClock
from members_rig import access

__all__ = ["access"]  # the fixture, used by name


@pytest.fixture
async def hub(clock: FakeClock, access: Access) -> AsyncIterator[Hub]:
    async with attack_hub(clock, access) as made:
        yield made
