"""Fixtures of the access-policy tests: the members and audit log on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import Backend

from pgcluster import schema_name

_POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


async def _backend(request: pytest.FixtureRequest, directory: Path) -> Backend:
    if request.param != "postgres":
        return Backend(request.param, directory)
    cluster = request.getfixturevalue("postgres_cluster")  # only the postgres runs start one
    return Backend("postgres", directory, await cluster.create_schema(schema_name()))


@pytest.fixture(params=["memory", "sqlite", _POSTGRES])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Members and audit log in memory, in an ``access.db`` or in PostgreSQL."""
    return await _backend(request, tmp_path)


@pytest.fixture(params=["sqlite", _POSTGRES])
async def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Members and audit log in a database: an ``access.db`` or PostgreSQL."""
    return await _backend(request, tmp_path)
