"""The PostgreSQL test service: one throwaway cluster per test session, a schema per test.

``postgres_cluster`` (session scope) makes a cluster with ``initdb`` in a temporary
directory, starts it on a free loopback port and stops it after the session
(``carhome.testing.postgres``); ``postgres_url`` is the URL of a fresh, empty schema on it
for one test (a schema is made in a moment; a database takes a copy of its template), and
``own_database(request)`` an open ``PgDatabase`` on one, for a fixture's postgres param;
``each_kind`` opens the store of a fixture param of ``EACH_KIND`` (memory, SQLite, PostgreSQL). Mark
the tests that use them ``@pytest.mark.postgres``. Without PostgreSQL on the machine they
fail, saying what to install: they are never skipped, so CI runs them.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Final, Protocol, TypeVar

import pytest

from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from carhome.testing.postgres import ThrowawayCluster

_names = itertools.count(1)

EACH_KIND: Final = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""The params of a fixture that gives a store of each kind (``each_kind``)."""


class _Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...


_S = TypeVar("_S", bound=_Store)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowawayCluster]:
    cluster = ThrowawayCluster()
    try:
        cluster.start()
    except StoreError as exc:
        cluster.stop()
        pytest.fail(f"the postgres tests need a PostgreSQL server: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def postgres_url(postgres_cluster: ThrowawayCluster) -> str:
    """The URL of an empty schema of this test's own on the session's cluster."""
    return await postgres_cluster.create_schema(schema_name())


def schema_name() -> str:
    """A schema name not yet used in this session."""
    return f"test_{next(_names)}"


@contextlib.asynccontextmanager
async def own_database(request: pytest.FixtureRequest) -> AsyncIterator[PgDatabase]:
    """An open ``PgDatabase`` on a schema of this test's own, for a fixture's postgres param
    (asked for here, so that only the postgres runs start the session's cluster)."""
    cluster = request.getfixturevalue("postgres_cluster")
    async with PgDatabase(await cluster.create_schema(schema_name())) as database:
        yield database


@contextlib.asynccontextmanager
async def each_kind(
    request: pytest.FixtureRequest,
    memory: Callable[[], _S],
    sqlite: Callable[[], _S],
    postgres: Callable[[PgDatabase], _S],
) -> AsyncIterator[_S]:
    """The open, empty store of the fixture's param (of ``EACH_KIND``), made by the function
    of that name; the PostgreSQL one on a schema of the test's own. Closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "postgres":
            made = postgres(await stack.enter_async_context(own_database(request)))
        else:
            made = memory() if request.param == "memory" else sqlite()
        await made.open()
        try:
            yield made
        finally:
            await made.close()
