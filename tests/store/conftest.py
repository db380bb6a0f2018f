"""Fixtures for the store tests: each store implementation, opened on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carhome.hub import Store
from carhome.store import MemoryStore, SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each implementation; the contract suite runs on all of them."""
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "hub.db")
    await made.open()
    try:
        yield made
    finally:
        await made.close()
