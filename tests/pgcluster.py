"""The PostgreSQL test service: one throwaway cluster per test session, a schema per test.

``postgres_cluster`` (session scope) makes a cluster with ``initdb`` in a temporary
directory, starts it on a free loopback port and stops it after the session
(``carhome.testing.postgres``); ``postgres_url`` is the URL of a fresh, empty schema on it
for one test (a schema is made in a moment; a database takes a copy of its template), and
``own_database(request)`` an open ``PgDatabase`` on one, for a fixture's postgres param;
``store_of_each_kind`` makes a fixture of a store on each (memory, SQLite, PostgreSQL). Mark
the tests that use them ``@pytest.mark.postgres``. Without PostgreSQL on the machine they
fail, saying what to install: they are never skipped, so CI runs them.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import pytest

from carhome.errors import ConfigError, StoreError
from carhome.pgdatabase import PgDatabase
from carhome.testing.postgres import ThrowawayCluster

_names = itertools.count(1)

EACH_KIND: Final = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_NEWER: Final = "UPDATE part_versions SET version = 99 WHERE part = $1"


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


def store_of_each_kind(
    memory: Callable[[], _S],
    sqlite: Callable[[Path], _S],
    postgres: Callable[[PgDatabase], _S],
) -> Any:
    """A fixture giving an open, empty store of each kind (memory; SQLite, ``sqlite`` of the
    test's ``tmp_path``; PostgreSQL on a schema of the test's own), closed on the way out:
    ``store = store_of_each_kind(memory=…, sqlite=…, postgres=…)`` in a test module."""

    @pytest.fixture(params=EACH_KIND)
    async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[_S]:
        async with contextlib.AsyncExitStack() as stack:
            if request.param == "postgres":
                made = postgres(await stack.enter_async_context(own_database(request)))
            else:
                made = memory() if request.param == "memory" else sqlite(tmp_path)
            await made.open()
            try:
                yield made
            finally:
                await made.close()

    return store


async def check_newer_tables_refused(
    url: str, make: Callable[[PgDatabase], _S], part: str, what: str
) -> None:
    """Check that the store ``make`` gives refuses to open ``part``'s tables once a newer
    carhome wrote them (their version past its migrations), naming ``what`` they hold."""
    async with PgDatabase(url) as database:
        await make(database).open()
        await database.execute("pretending to be newer", [(_NEWER, (part,))])
        with pytest.raises(ConfigError, match=f"{what} was written by a newer carhome"):
            await make(database).open()
