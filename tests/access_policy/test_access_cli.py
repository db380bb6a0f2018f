"""``carhome members …`` and ``carhome audit verify`` on a stopped hub's database: an
``access.db`` (by ``--db``, or the hub's ``--store sqlite:///…``) or PostgreSQL (``--store``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from backends import Backend
from click.testing import CliRunner

from carhome.access.database import access_file
from carhome.access.members import Grant, Member, MemberError, Members
from carhome.cli.access import EXIT_TAMPERED, audit, members
from carhome.errors import StoreError
from carhome.wire.members import Role
from pgcluster import schema_name


@pytest.fixture(params=["db", "store", pytest.param("postgres", marks=pytest.mark.postgres)])
async def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Backend, list[str]]:
    """A stopped hub's members and audit log, and how the commands name them: its
    ``access.db`` by ``--db`` or by the hub's ``--store sqlite:///…`` beside it (made by a
    first start), or its PostgreSQL database by ``--store postgresql://…`` (empty)."""
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        made = Backend("postgres", tmp_path, await cluster.create_schema(schema_name()))
        return made, made.cli_args
    made = Backend("sqlite", tmp_path)
    async with made.stores():
        pass
    if request.param == "db":
        return made, made.cli_args
    return made, ["--store", f"sqlite:///{tmp_path / 'carhome.db'}"]


def load(backend: Backend) -> Members:
    async def read() -> Members:
        async with backend.stores() as (member_store, _):
            return await Members.load(member_store)

    return asyncio.run(read())


def test_members_and_audit_verify(where: tuple[Backend, list[str]]) -> None:
    backend, args = where
    run = CliRunner()
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

    olga = load(backend).require("olga")
    assert olga.revoked
    assert olga.password is not None
    assert olga.password.startswith("$argon2id$")
    assert load(backend).require("gina").grants[0].uses == 3

    good = run.invoke(audit, ["verify", *args])
    assert good.exit_code == 0
    assert "intact: 4 entries" in good.output
    chain = "in the chain of home h1 " if backend.per_home else ""
    asyncio.run(backend.alter("h1", 3))
    bad = run.invoke(audit, ["verify", *args])
    print(
        f"\naudit verify ({backend.name}) after changing entry 3: exit {bad.exit_code}: {bad.output.strip()}"
    )
    assert bad.exit_code == EXIT_TAMPERED
    assert f"tamper detected {chain}at seq 3: contents altered" in bad.output
    asyncio.run(backend.remove("h1", 2))
    bad = run.invoke(audit, ["verify", *args, "--json"])
    said = " ".join(bad.output.split())
    print(f"audit verify ({backend.name}) after removing entry 2: exit {bad.exit_code}: {said}")
    assert bad.exit_code == EXIT_TAMPERED
    found = msgspec.json.decode(bad.output)
    assert (found["seq"], found["problem"]) == (2, "missing (next stored is seq 3)")
    assert found["home"] == ("h1" if backend.per_home else None)


def test_mistakes_are_reported(where: tuple[Backend, list[str]], tmp_path: Path) -> None:
    _, args = where
    run = CliRunner()
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
    elsewhere = f"sqlite:///{tmp_path / 'none' / 'carhome.db'}"
    for command in (audit, members):
        out = run.invoke(command, ["list" if command is members else "verify", "--store", elsewhere])
        assert out.exit_code == 1
        assert "leave --store out" in out.output
    out = run.invoke(audit, ["verify", "--store", "mysql://db/carhome"])
    assert (out.exit_code, "not a store URL" in out.output) == (2, True)
    out = run.invoke(audit, ["verify", "--store", elsewhere, "--db", str(tmp_path / "access.db")])
    assert (out.exit_code, "not both" in out.output) == (2, True)


async def test_registry_rules(backend: Backend) -> None:
    async with backend.stores() as (store, _):
        registry = await Members.load(store)
        await _rules(registry)
    async with backend.stores() as (store, _):  # what was kept, as it was left
        again = await Members.load(store)
    assert sorted(again, key=lambda m: m.id) == sorted(registry, key=lambda m: m.id)
    assert [m.id for m in sorted(again, key=lambda m: m.id)] == ["fred", "gina"]


async def _rules(registry: Members) -> None:
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


async def test_a_damaged_member_record_is_reported_with_its_database(kept: Backend) -> None:
    async with kept.stores() as (store, _):
        await store.save(Member(id="fred", home="h1", name="Fred", role=Role.FAMILY))
    await kept.damage_member("fred")
    with pytest.raises(StoreError, match=r"cannot be read|is damaged") as caught:
        async with kept.stores() as (store, _):
            await Members.load(store)
    where = str(kept.file) if kept.url is None else kept.url.partition("?")[0].rpartition("@")[2]
    print(f"\na damaged member record ({kept.name}): {caught.value}")
    assert where in str(caught.value)
