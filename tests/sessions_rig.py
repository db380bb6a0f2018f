"""The login-session stores for tests: each backend, opened again and again on one place.

``open_backend`` (a fixture's body: memory, sqlite or postgres by ``request.param``) returns what
opens the store of that backend, each time on the same place — the same store in memory, one
``access.db``, one schema of the test's own on the session's PostgreSQL cluster — so what a
test reads after opening it again is what a restarted hub reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Final

import pytest

from carhome.access.database import access_file
from carhome.access.sessions import MemorySessionStore, PostgresSessionStore, SessionStore, SqliteSessionStore
from carhome.pgdatabase import PgDatabase
from pgcluster import schema_name

BACKENDS: Final = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

Opener = Callable[[], AbstractAsyncContextManager[SessionStore]]


async def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens the store of one backend, each time on the same place (a file, a schema)."""
    if request.param == "memory":
        memory = MemorySessionStore()

        @contextlib.asynccontextmanager
        async def in_memory() -> AsyncIterator[SessionStore]:
            yield memory

        return in_memory
    if request.param == "sqlite":

        @contextlib.asynccontextmanager
        async def in_file() -> AsyncIterator[SessionStore]:
            async with access_file(tmp_path / "access.db") as file:
                yield SqliteSessionStore(file)

        return in_file
    url = await request.getfixturevalue("postgres_cluster").create_schema(schema_name())

    @contextlib.asynccontextmanager
    async def in_database() -> AsyncIterator[SessionStore]:
        async with PgDatabase(url) as database:
            yield await PostgresSessionStore.open(database)

    return in_database
