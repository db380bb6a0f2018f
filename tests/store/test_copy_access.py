"""``carhome store copy`` takes access control along: the members (with their grants and the
uses counted on them), the login sessions, the token secret and the audit log of a SQLite
hub's ``access.db`` and ``token.key`` go into the PostgreSQL target's tables and back.
Every member and session arrives equal, the audit chains verify on each target (through
``carhome audit verify --store``), a source whose log was tampered with is refused, and a
hub started on the copy takes the tokens issued before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from carhome.access.database import ACCESS_DB
from carhome.access.members import Grant, Member
from carhome.access.passwords import Passwords
from carhome.access.service import TOKEN_KEY, Access
from carhome.access.sessions import Session
from carhome.access.tokens import TokenPair
from carhome.api import create_app
from carhome.cli import exits
from carhome.compose.copy_access import SEAL_FACE, access_stores
from carhome.hub import Device, Home, Hub
from carhome.hub.commands import Decision
from carhome.pgdatabase import PgDatabase
from carhome.store import SqliteStore, open_store
from carhome.store.memory import MemoryStore
from carhome.testing import FakeClock
from carhome.wire.members import AuditEntry, Role
from members_rig import add_members, bearer
from pgcluster import schema_name

from .copy_rig import assert_told, carhome, there_and_back

HOMES = ("h1", "h2", "h3")
CHEAP = Passwords(time_cost=1, memory_cost=1024)


@contextlib.asynccontextmanager
async def _served(access: Access, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub:
        for home in HOMES:
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="car", type="car"))
        transport = httpx.ASGITransport(app=create_app(hub, access=access))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


async def _fill(data: Path, clock: FakeClock) -> dict[str, TokenPair]:
    """A stopped SQLite hub in ``data``: three homes, members with a used grant, sessions
    (one renewed, one logged out) and the audit entries of the three homes interleaved.
    Returns the tokens issued."""
    await asyncio.to_thread(data.mkdir)
    async with SqliteStore(data / "carhome.db") as store:
        for home in HOMES:
            await store.save_home(Home(id=home, name=home, lat=39.8, lon=116.5))
    async with Access.open(data, clock, passwords=CHEAP) as access:
        await add_members(access)
        hashed = access.passwords.hash("another password")
        await access.members.add(Member(id="hana", home="h3", name="Hana", role=Role.OWNER, password=hashed))
        start = clock.time()
        await access.members.grant(
            "gina",
            Grant(id="g1", devices=("car",), targets=("*",), starts=start, ends=start + 86_400, uses=5),
        )
        await access.members.use("gina", "g1")
        await access.members.use("gina", "g1")
        await access.members.revoke("fred")
        tokens = {
            who: await access.tokens.open_session(access.members.require(who)) for who in ("olivia", "nora")
        }
        kept = await access.tokens.open_session(access.members.require("hana"))
        tokens["hana"] = await access.tokens.refresh(kept.refresh)
        ended = await access.tokens.open_session(access.members.require("gina"))
        await access.tokens.revoke_session(ended.session)
        for i in range(30):
            await clock.advance(7.0)
            home = HOMES[i % 3]
            member = {"h1": "olivia", "h2": "nora", "h3": "hana"}[home]
            await access.audit.record(
                home=home, member=member, face="api", command=f"c{i}", device="car",
                target="lock", decision=Decision(allowed=i % 4 != 0, reason=f"reason {i}"),
            )  # fmt: skip
    return tokens


class Stopped(NamedTuple):
    """A stopped SQLite hub ``_fill`` made: its data folder, its store's URL, the tokens issued."""

    data: Path
    source: str
    tokens: dict[str, TokenPair]


@pytest.fixture
async def stopped(tmp_path: Path, clock: FakeClock) -> Stopped:
    data = tmp_path / "data"
    tokens = await _fill(data, clock)
    return Stopped(data, f"sqlite:///{data / 'carhome.db'}", tokens)


async def _held(url: str) -> tuple[list[Member], list[Session], list[AuditEntry], bytes | None]:
    async with open_store(url) as store, access_stores(store, url, make=False) as side:
        assert side is not None
        members = sorted(await side.members.load(), key=lambda m: m.id)
        sessions = sorted(await side.sessions.everything(), key=lambda s: (s.home, s.id))
        return members, sessions, await side.audit.entries(), await side.secret.read()


def _what(entry: AuditEntry) -> tuple[object, ...]:
    """An entry's fields but its place in a chain (seq, link, hash)."""
    return (entry.time, entry.home, entry.member, entry.face, entry.command, entry.device,
            entry.target, entry.decision, entry.reason)  # fmt: skip


@pytest.mark.postgres
async def test_copy_takes_members_sessions_secret_and_audit_to_postgresql_and_back(
    tmp_path: Path, postgres_url: str, stopped: Stopped
) -> None:
    source, data = stopped.source, stopped.data
    there, back, back_url = await there_and_back(source, postgres_url, tmp_path / "back")

    members, sessions, entries, secret = await _held(source)
    pg_members, pg_sessions, pg_entries, pg_secret = await _held(postgres_url)
    back_members, back_sessions, back_entries, back_secret = await _held(back_url)
    verified = {
        where: await carhome("audit", "verify", "--store", url)
        for where, url in (("postgresql", postgres_url), ("sqlite", back_url))
    }
    print(
        f"access copied sqlite → postgresql → sqlite: {len(members)} members, {len(sessions)} sessions,"
        f" {len(entries)} → {len(pg_entries)} → {len(back_entries)} audit entries; verify: "
        + ", ".join(f"{where} {r.output.strip()!r}" for where, r in verified.items())
    )
    assert [m.id for m in members] == ["fred", "gina", "hana", "nora", "olivia"]
    gina = next(m for m in members if m.id == "gina")
    assert gina.grants[0].used == 2
    assert len(sessions) == 4
    assert pg_members == members
    assert back_members == members
    assert pg_sessions == sessions
    assert back_sessions == sessions
    assert secret is not None
    assert pg_secret == secret
    assert back_secret == secret
    assert (tmp_path / "back" / TOKEN_KEY).read_bytes() == (data / TOKEN_KEY).read_bytes()
    for where, result in verified.items():
        assert result.exit_code == 0, (where, result.output)
    assert verified["postgresql"].output.strip() == "audit chain intact: 33 entries"
    assert verified["sqlite"].output.strip() == "audit chain intact: 34 entries"

    # on PostgreSQL: each home's entries in their order, then the seal naming the source's head
    head = entries[-1]
    for home in HOMES:
        chain = [e for e in pg_entries if e.home == home]
        assert [_what(e) for e in chain[:-1]] == [_what(e) for e in entries if e.home == home]
        assert [e.seq for e in chain] == list(range(1, 12))
        assert chain[-1].face == SEAL_FACE
        assert f"30 entries, head seq {head.seq} hash {head.hash}" in chain[-1].reason
    # back on SQLite: one chain, in time order, then a seal naming the three homes' heads
    copied = [e for e in back_entries[:-1] if e.face != SEAL_FACE]
    assert sorted(map(_what, copied)) == sorted(map(_what, entries))
    assert [e.seq for e in back_entries] == list(range(1, 35))
    assert (back_entries[-1].home, back_entries[-1].face) == ("", SEAL_FACE)
    for home in HOMES:
        pg_head = [e for e in pg_entries if e.home == home][-1]
        assert f"home {home}: 11 entries, head seq 11 hash {pg_head.hash}" in back_entries[-1].reason
    assert_told(
        (
            "  members: 5 in the source, 5 in the target",
            "  login sessions: 4 in the source, 4 in the target",
            "  token secret: 1 in the source, 1 in the target",
            "audit chains of the target: audit chain intact: ",
        ),
        there,
        back,
    )
    assert "  audit entries: 30 in the source, 33 in the target" in there.output
    assert "  audit entries: 33 in the source, 34 in the target" in back.output


async def test_a_source_whose_audit_log_was_tampered_with_is_refused(
    tmp_path: Path, stopped: Stopped
) -> None:
    with contextlib.closing(sqlite3.connect(stopped.data / ACCESS_DB)) as conn, conn:
        conn.execute("UPDATE access_audit SET decision = 'allowed' WHERE seq = 13")
    (tmp_path / "copy").mkdir()
    target = tmp_path / "copy" / "carhome.db"
    refused = await carhome("store", "copy", "--from", stopped.source, "--to", f"sqlite:///{target}")
    told = refused.output.partition("does not verify ")[2].strip()
    print(f"tampered source: exit {refused.exit_code}, {told}")
    assert refused.exit_code == exits.HUB, refused.output
    assert "the audit log does not verify (tamper detected at seq 13: contents altered" in refused.output
    async with SqliteStore(target) as store:
        assert await store.homes() == []  # nothing written
    members, sessions, entries, secret = await _held(f"sqlite:///{target}")
    assert (members, sessions, entries, secret) == ([], [], [], None)


@pytest.mark.postgres
async def test_a_target_holding_access_data_is_refused_unless_forced(
    tmp_path: Path, postgres_url: str, clock: FakeClock, stopped: Stopped
) -> None:
    source = stopped.source
    async with (
        PgDatabase(postgres_url) as database,
        Access.open(tmp_path / "other", clock, postgres=database) as access,
    ):
        await access.members.add(Member(id="otto", home="h9", name="Otto", role=Role.OWNER))
        await access.audit.record(
            home="h1", member="otto", face="api", command="x", device="car", target="lock",
            decision=Decision(allowed=False, reason="not a member of h1"),
        )  # fmt: skip

    refused = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert refused.exit_code == exits.HUB, refused.output
    assert (
        "is not empty (1 members, 1 audit entries, 1 token secret); copy into an empty database"
        in refused.output
    )
    async with open_store(postgres_url) as store:
        assert await store.homes() == []

    forced = await carhome("store", "copy", "--from", source, "--to", postgres_url, "--force")
    assert forced.exit_code == 0, forced.output
    assert "  members: 5 in the source, 6 in the target" in forced.output
    assert "  audit entries: 30 in the source, 34 in the target" in forced.output
    verified = await carhome("audit", "verify", "--store", postgres_url)
    assert verified.exit_code == 0, verified.output
    assert verified.output.strip() == "audit chain intact: 34 entries"
    _, _, entries, secret = await _held(postgres_url)
    h1 = [e for e in entries if e.home == "h1"]
    assert (h1[0].member, h1[1].seq, h1[1].prev) == ("otto", 2, h1[0].hash)  # chained after the target's
    assert secret == (stopped.data / TOKEN_KEY).read_bytes()


@pytest.mark.postgres
async def test_a_copy_between_postgresql_databases_seals_each_home_with_its_own_head(
    postgres_url: str, stopped: Stopped, request: pytest.FixtureRequest
) -> None:
    other = await request.getfixturevalue("postgres_cluster").create_schema(schema_name())
    first = await carhome("store", "copy", "--from", stopped.source, "--to", postgres_url)
    assert first.exit_code == 0, first.output
    second = await carhome("store", "copy", "--from", postgres_url, "--to", other)
    assert second.exit_code == 0, second.output
    assert "  audit entries: 33 in the source, 36 in the target" in second.output
    verified = await carhome("audit", "verify", "--store", other)
    assert verified.output.strip() == "audit chain intact: 36 entries", verified.output
    _, _, source_entries, _ = await _held(postgres_url)
    _, _, entries, _ = await _held(other)
    for home in HOMES:
        chain = [e for e in entries if e.home == home]
        source_head = [e for e in source_entries if e.home == home][-1]
        seal = chain[-1].reason
        assert f"home {home}: 11 entries, head seq 11 hash {source_head.hash}" in seal
        assert [h for h in HOMES if f"home {h}:" in seal] == [home]  # no other home's head


@pytest.mark.postgres
async def test_a_hub_on_the_copy_takes_the_tokens_issued_before_it(
    tmp_path: Path, postgres_url: str, clock: FakeClock, stopped: Stopped
) -> None:
    tokens = stopped.tokens
    copied = await carhome("store", "copy", "--from", stopped.source, "--to", postgres_url)
    assert copied.exit_code == 0, copied.output
    (tmp_path / "back").mkdir()
    back_url = f"sqlite:///{tmp_path / 'back' / 'carhome.db'}"

    async with (
        PgDatabase(postgres_url) as database,
        Access.open(tmp_path / "elsewhere", clock, passwords=CHEAP, postgres=database) as access,
        _served(access, clock) as client,
    ):
        answers = {
            "olivia's access token": (
                await client.get("/api/devices", headers=bearer_of(tokens["olivia"]))
            ).status_code,
            "olivia's refresh token": (
                renewed := await client.post("/api/auth/refresh", json={"refresh": tokens["olivia"].refresh})
            ).status_code,
            "hana's renewed refresh token": (
                await client.post("/api/auth/refresh", json={"refresh": tokens["hana"].refresh})
            ).status_code,
        }
        assert renewed.status_code == 200, renewed.text
        olivia = renewed.json()
        assert (await client.get("/api/homes", headers=bearer(olivia))).status_code == 200
    assert not (tmp_path / "elsewhere" / TOKEN_KEY).exists()

    back = await carhome("store", "copy", "--from", postgres_url, "--to", back_url)
    assert back.exit_code == 0, back.output
    async with (
        Access.open(tmp_path / "back", clock, passwords=CHEAP) as access,
        _served(access, clock) as client,
    ):
        answers["nora's refresh token, back on sqlite"] = (
            await client.post("/api/auth/refresh", json={"refresh": tokens["nora"].refresh})
        ).status_code
        answers["olivia's renewed access token, back on sqlite"] = (
            await client.get("/api/devices", headers=bearer(olivia))
        ).status_code
    print(f"\na hub on the copy, tokens issued before it: {answers}")
    assert answers == dict.fromkeys(answers, 200)


def bearer_of(pair: TokenPair) -> dict[str, str]:
    """The header that carries a ``TokenPair``'s access token."""
    return {"authorization": f"Bearer {pair.access}"}
