"""``PgDatabase``'s sessions: settings for each pooled session, and a session of the caller's own."""

from __future__ import annotations

import pytest

from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from carhome.testing.postgres import free_port

pytestmark = pytest.mark.postgres


async def test_the_pool_s_sessions_carry_the_settings_given(postgres_url: str) -> None:
    async with PgDatabase(
        postgres_url, settings={"idle_in_transaction_session_timeout": "1500ms"}
    ) as database:
        shown = await database.read(
            "showing", lambda conn: conn.fetchval("SHOW idle_in_transaction_session_timeout")
        )
    assert shown == "1500ms"


async def test_a_session_of_its_own_is_outside_the_pool(postgres_url: str) -> None:
    async with PgDatabase(postgres_url, pool_size=1) as database:
        session = await database.session("a test", {"application_name": "carhome test session"})
        try:
            pooled = await database.read("a pid", lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
            assert await session.fetchval("SELECT pg_backend_pid()") != pooled
            assert await session.fetchval("SHOW application_name") == "carhome test session"
        finally:
            await session.close()


async def test_a_session_that_cannot_connect_says_so_without_the_password() -> None:
    database = PgDatabase(f"postgresql://carhome:s3cret@127.0.0.1:{free_port()}/nowhere", connect_timeout=2.0)
    with pytest.raises(StoreError, match="cannot connect for a test") as raised:
        await database.session("a test")
    assert "s3cret" not in str(raised.value)
