"""Login sessions kept in a ``SessionStore``: the store's contract over memory, ``access.db``
and PostgreSQL, and ``Tokens`` taking its sessions up again after a restart.

Each backend is opened, closed and opened again on the same place (memory: the same store),
so what a test reads after opening it again is what a restarted hub reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from carhome.access.members import Member, Members
from carhome.access.sessions import SECRET_BYTES, MemorySessionStore, PostgresSessionStore, Session
from carhome.access.tokens import InvalidToken, Revoked, Tokens
from carhome.errors import StoreError
from carhome.pgdatabase import PgDatabase
from carhome.testing import FakeClock
from carhome.wire.members import Role
from sessions_rig import BACKENDS, Opener, open_backend

SECRET = bytes(range(32))
DAY = 24 * 3600.0


def people() -> list[Member]:
    return [
        Member(id="olga", home="h1", name="Olga", role=Role.OWNER),
        Member(id="fred", home="h1", name="Fred", role=Role.FAMILY),
    ]


@pytest.fixture(params=BACKENDS)
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return await open_backend(request, tmp_path)


def session(name: str, *, expires: float, home: str = "h1", member: str = "fred") -> Session:
    return Session(name, home, member, hashlib.sha256(name.encode()).digest(), 0.0, expires)


# -- the store's contract -------------------------------------------------------------------


async def test_a_saved_session_is_there_after_reopening(opener: Opener) -> None:
    kept = [session("a", expires=DAY), session("b", expires=2 * DAY, home="h2", member="nora")]
    async with opener() as store:
        assert await store.load(0.0) == []
        for s in kept:
            await store.save(s)
    async with opener() as store:
        assert sorted(await store.load(0.0), key=lambda s: s.id) == kept


async def test_save_replaces_the_whole_record(opener: Opener) -> None:
    first = session("a", expires=DAY)
    rotated = msgspec.structs.replace(first, digest=b"\x01" * 32, retired=(first.digest,))
    revoked = msgspec.structs.replace(rotated, revoked=True)
    async with opener() as store:
        await store.save(first)
        await store.save(rotated)
        await store.save(revoked)
    async with opener() as store:
        assert await store.load(0.0) == [revoked]


async def test_the_same_session_id_in_two_homes_is_two_sessions(opener: Opener) -> None:
    one, other = session("a", expires=DAY, home="h1"), session("a", expires=DAY, home="h2", member="nora")
    async with opener() as store:
        await store.save(one)
        await store.save(other)
        assert sorted(await store.load(0.0), key=lambda s: s.home) == [one, other]


async def test_expired_sessions_are_pruned_and_stay_gone(opener: Opener) -> None:
    async with opener() as store:
        for i in range(5):
            await store.save(session(f"s{i}", expires=(i + 1) * DAY))
        assert await store.prune(2 * DAY) == 2  # s0 and s1: expired at their expiry
        assert await store.prune(2 * DAY) == 0
        live = await store.load(3 * DAY)  # s2 goes too, when loaded
    assert [s.id for s in sorted(live, key=lambda s: s.id)] == ["s3", "s4"]
    async with opener() as store:
        # an earlier clock brings none back
        assert sorted(s.id for s in await store.load(0.0)) == ["s3", "s4"]


# -- tokens over a store, across a restart ------------------------------------------------


@contextlib.asynccontextmanager
async def started(opener: Opener, clock: FakeClock, members: Members) -> AsyncIterator[Tokens]:
    """The tokens of a hub started on the store ``opener`` opens."""
    async with opener() as store:
        yield await Tokens.load(SECRET, clock, members, store)


async def test_a_restart_keeps_sessions_and_what_ended_them(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        fred = await tokens.open_session(members.require("fred"))
        olga = await tokens.open_session(members.require("olga"))
        gone = await tokens.open_session(members.require("olga"))
        rotated = await tokens.refresh(fred.refresh)
        await tokens.revoke_session(gone.session)
    async with started(opener, clock, members) as tokens:
        assert tokens.check(rotated.access).member == "fred"  # the access token still works
        assert tokens.check(olga.access).member == "olga"
        with pytest.raises(InvalidToken, match="revoked"):
            tokens.check(gone.access)
        with pytest.raises(InvalidToken, match="revoked"):
            await tokens.refresh(gone.refresh)
        await clock.advance(tokens.access_ttl)
        again = await tokens.refresh(rotated.refresh)  # the rotated refresh token renews
        assert tokens.check(again.access).session == fred.session
    async with started(opener, clock, members) as tokens:
        # the token spent before the first restart, back after the second: someone copied it
        with pytest.raises(InvalidToken, match="already used"):
            await tokens.refresh(fred.refresh)
    async with started(opener, clock, members) as tokens:
        with pytest.raises(InvalidToken, match="revoked"):
            await tokens.refresh(again.refresh)


async def test_only_digests_are_kept(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        pair = await tokens.open_session(members.require("fred"))
        pair = await tokens.refresh(pair.refresh)
    async with opener() as store:
        (kept,) = await store.load(clock.time())
    record = msgspec.json.encode(kept)
    secret = pair.refresh.partition(".")[2]
    assert (kept.id, kept.home, kept.member, kept.revoked) == (pair.session, "h1", "fred", False)
    assert secret.encode() not in record
    assert pair.access.encode() not in record
    assert len(kept.retired) == 1


async def test_expired_sessions_are_not_taken_up(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        old = await tokens.open_session(members.require("fred"))
        await clock.advance(tokens.refresh_ttl / 2)
        young = await tokens.open_session(members.require("olga"))
        assert len(tokens) == 2
    await clock.advance(tokens.refresh_ttl / 2)
    async with started(opener, clock, members) as tokens:
        assert len(tokens) == 1
        with pytest.raises(InvalidToken, match="unknown session"):
            await tokens.refresh(old.refresh)
        assert tokens.check((await tokens.refresh(young.refresh)).access).member == "olga"
    async with opener() as store:
        assert [s.id for s in await store.load(0.0)] == [young.session]


async def test_sessions_expired_while_running_are_pruned(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        tokens.refresh_ttl = 1800.0
        for _ in range(3):
            await tokens.open_session(members.require("fred"))
        await clock.advance(3600.0)
        await tokens.open_session(members.require("olga"))  # the hour is up: the three expired go
        assert len(tokens) == 1
        async with opener() as other:
            kept = await other.load(0.0)
    print(f"\nsessions kept after an hour: {len(kept)} of 4 opened (3 expired)")
    assert [s.member for s in kept] == ["olga"]


async def test_a_revoke_is_heard_at_once_and_kept_when_it_returns(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        pair = await tokens.open_session(members.require("fred"))
        heard: list[Revoked] = []
        states: list[bool] = []

        def listener(event: Revoked) -> None:
            heard.append(event)  # told before the record is written: in memory already
            with contextlib.suppress(InvalidToken):
                tokens.check(pair.access)
                states.append(True)

        tokens.on_revoke(listener)
        await tokens.revoke_session(pair.session, reason="logged out")
        async with opener() as other:
            (kept,) = await other.load(clock.time())
    assert heard == [Revoked("fred", pair.session, "logged out")]
    assert states == []
    assert kept.revoked


# -- the token secret on PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres
async def test_processes_on_one_database_share_one_token_secret(postgres_url: str) -> None:
    async with PgDatabase(postgres_url) as one, PgDatabase(postgres_url) as two:
        first, second = await asyncio.gather(PostgresSessionStore.open(one), PostgresSessionStore.open(two))
        secrets = await asyncio.gather(first.secret(), second.secret(), first.secret())
    async with PgDatabase(postgres_url) as again:
        later = await (await PostgresSessionStore.open(again)).secret()
    assert len(secrets[0]) == SECRET_BYTES
    assert secrets == [secrets[0]] * 3
    assert later == secrets[0]


class Refusing(MemorySessionStore):
    """A store whose disk is full while ``full`` is set: each save fails."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False

    async def save(self, session: Session) -> None:
        if self.full:
            raise StoreError("access.db: saving a login session failed (database or disk is full)")
        await super().save(session)


async def test_a_change_not_kept_is_not_made(clock: FakeClock) -> None:
    members, store = Members(members=people()), Refusing()
    tokens = await Tokens.load(SECRET, clock, members, store)
    pair = await tokens.open_session(members.require("fred"))
    store.full = True
    with pytest.raises(StoreError):
        await tokens.open_session(members.require("olga"))
    assert len(tokens) == 1  # the session that could not be kept was never handed out
    with pytest.raises(StoreError):
        await tokens.refresh(pair.refresh)
    # the refresh token whose successor was not kept is still the session's: not a reuse
    store.full = False
    renewed = await tokens.refresh(pair.refresh)
    assert tokens.check(renewed.access).member == "fred"
    store.full = True
    with pytest.raises(StoreError):
        await tokens.revoke_session(pair.session)
    with pytest.raises(InvalidToken, match="revoked"):  # ended in memory all the same
        tokens.check(renewed.access)


async def test_a_revoke_right_after_a_refresh_is_what_is_kept(opener: Opener, clock: FakeClock) -> None:
    members = Members(members=people())
    async with started(opener, clock, members) as tokens:
        pairs = [await tokens.open_session(members.require("fred")) for _ in range(20)]
        await asyncio.gather(
            *(step for p in pairs for step in (tokens.refresh(p.refresh), tokens.revoke_session(p.session)))
        )
    async with opener() as store:
        kept = await store.load(clock.time())
    print(f"\nrevoked right after a refresh, kept revoked: {sum(s.revoked for s in kept)} of {len(pairs)}")
    assert [s.revoked for s in kept] == [True] * len(pairs)
