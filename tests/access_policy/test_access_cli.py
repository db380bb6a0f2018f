"""``carhome members …`` and ``carhome audit verify`` on a SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from carhome.access.database import access_file
from carhome.access.members import Grant, Member, MemberError, Members, SqliteMemberStore
from carhome.cli.access import EXIT_TAMPERED, audit, members
from carhome.errors import StoreError
from carhome.wire.members import Role


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "carhome.db"

    async def make() -> None:
        async with access_file(path):
            pass

    asyncio.run(make())
    return path


def load(db: Path) -> Members:
    async def read() -> Members:
        async with access_file(db) as database:
            return await Members.load(SqliteMemberStore(database))

    return asyncio.run(read())


def test_members_and_audit_verify(db: Path) -> None:
    run = CliRunner()
    args = ["--db", str(db)]
    out = run.invoke(
        members,
        ["add", "olga", "--home", "h1", "--name", "Olga", "--role", "owner", *args],
        input="a long passphrase\na long passphrase\n",
    )
    assert out.exit_code == 0, out.output
    out = run.invoke(
        members, ["add", "gina", "--home", "h1", "--name", "Gina", "--role", "guest", "--no-password", *args]
    )
    assert out.exit_code == 0, out.output
    out = run.invoke(
        members,
        [
            "grant",
            "gina",
            "--device",
            "lock",
            "--target",
            "unlock",
            "--from",
            "2026-07-01T18:00+00:00",
            "--until",
            "2026-07-02T10:00+00:00",
            "--uses",
            "3",
            *args,
        ],
    )
    assert out.exit_code == 0, out.output
    out = run.invoke(members, ["revoke", "olga", *args])
    assert out.exit_code == 0, out.output
    listing = run.invoke(members, ["list", *args]).output
    assert "h1/olga  owner  Olga (revoked)" in listing
    assert "unlock on lock" in listing
    assert "0/3 uses" in listing

    olga = load(db).require("olga")
    assert olga.revoked
    assert olga.password is not None
    assert olga.password.startswith("$argon2id$")

    good = run.invoke(audit, ["verify", *args])
    assert good.exit_code == 0
    assert "intact: 4 entries" in good.output
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM access_audit WHERE seq = 2")
    raw.close()
    bad = run.invoke(audit, ["verify", *args])
    print(f"\naudit verify after removing entry 2: exit {bad.exit_code}: {bad.output.strip()}")
    assert bad.exit_code == EXIT_TAMPERED
    assert "tamper detected at seq 2" in bad.output


def test_mistakes_are_reported(db: Path, tmp_path: Path) -> None:
    run = CliRunner()
    args = ["--db", str(db)]
    for since, code, says in (("2026-01-01", 1, "no member 'nobody'"), ("soon", 2, "ISO 8601")):
        grant = [
            "grant",
            "nobody",
            "--device",
            "x",
            "--target",
            "y",
            "--from",
            since,
            "--until",
            "2026-01-02",
        ]
        out = run.invoke(members, [*grant, *args])
        assert out.exit_code == code
        assert says in out.output
    out = run.invoke(
        members,
        ["add", "Bad Name", "--home", "h1", "--name", "B", "--role", "family", "--no-password", *args],
    )
    assert out.exit_code == 1
    assert run.invoke(audit, ["verify", "--db", str(tmp_path / "none.db")]).exit_code == 1
    assert run.invoke(members, ["list", "--db", str(tmp_path / "none.db")]).exit_code == 1


async def test_registry_rules() -> None:
    registry = Members()
    await registry.add(Member(id="fred", home="h1", name="Fred", role=Role.FAMILY))
    with pytest.raises(MemberError, match="exists"):
        await registry.add(Member(id="fred", home="h1", name="Fred", role=Role.FAMILY))
    with pytest.raises(MemberError, match="only guests"):
        await registry.grant("fred", Grant("g", ("car",), ("*",), 0, 10))
    with pytest.raises(MemberError, match="ends before"):
        Grant("g", ("car",), ("*",), 10, 10)
    with pytest.raises(MemberError, match="no device"):
        Grant("g", (), ("*",), 0, 10)
    with pytest.raises(MemberError, match="uses"):
        Grant("g", ("car",), ("*",), 0, 10, uses=0)
    await registry.add(Member(id="gina", home="h1", name="Gina", role=Role.GUEST))
    await registry.grant("gina", Grant("g", ("car",), ("climate_on",), 0, 10))
    with pytest.raises(MemberError, match="already"):
        await registry.grant("gina", Grant("g", ("car",), ("*",), 0, 10))
    await registry.withdraw("gina", "g")
    assert registry.require("gina").grants == ()
    with pytest.raises(MemberError, match="no grant"):
        await registry.withdraw("gina", "g")


async def test_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    registry = Members()
    await registry.add(Member(id="fred", home="h1", name="Fred", role=Role.FAMILY))
    heard: list[str] = []

    def broken(member: Member) -> None:
        raise RuntimeError("face gone")

    registry.on_revoke(broken)
    unsubscribe = registry.on_revoke(lambda m: heard.append(m.id))
    await registry.revoke("fred")
    assert heard == ["fred"]
    assert "listener failed" in caplog.text
    unsubscribe()


async def test_audit_store_reports_a_foreign_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        await access_file(junk).open()
