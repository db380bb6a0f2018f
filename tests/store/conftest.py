"""Fixtures for the store tests: each store implementation, opened on a fresh database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carhome.hub import Store
from carhome.store import MemoryStore, PostgresStore, SqliteStore
from pgcluster import schema_name


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each implementation; the contract suite runs on all of them.

    The PostgreSQL one is a schema of the test's own on the session's throwaway cluster."""
    async with _opened(request, tmp_path) as made:
        yield made


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each implementation that writes to a database."""
    async with _opened(request, tmp_path) as made:
        yield made


@contextlib.asynccontextmanager
async def _opened(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SqliteStore(tmp_path / "hub.db")
    else:
        cluster = request.getfixturevalue("postgres_cluster")  # only the postgres runs start one
        made = PostgresStore(await cluster.create_schema(schema_name()))
    await made.open()
    try:
        yield made
    finally:
        await made.close()
