"""The hash-chained audit log: coverage of every decision, and tampering detected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_rig import COMMANDS, DEVICES, FACES, command, gatekeeper, people

from carhome.access.audit import GENESIS, AuditLog, MemoryAuditStore, SqliteAuditStore, rehash, verify
from carhome.access.database import access_file
from carhome.errors import CommandDenied
from carhome.hub import Device, Home, Hub
from carhome.hub.commands import Decision
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.wire.members import AuditEntry


async def test_every_decision_is_on_record_and_tamper_is_detected(tmp_path: Path) -> None:
    clock = FakeClock()
    db = tmp_path / "hub.db"
    async with access_file(db) as database:
        store = SqliteAuditStore(database)
        keeper, _, audit = gatekeeper(clock, store)
        made: dict[str, str] = {}
        for i, (device, kind, target, args) in enumerate(COMMANDS * 4):
            member = people()[i % 6].id
            face = FACES[i % len(FACES)]
            cmd = command(member, device, kind, target, args, face, clock.time(), signed=i % 3 > 0)
            decision = await keeper.decide(cmd, DEVICES[device])
            made[cmd.id] = "allowed" if decision.allowed else "denied"
            await clock.advance(1.5)
        entries = await store.entries()
        logged = {e.command: e.decision for e in entries}
        covered = sum(logged.get(cid) == verdict for cid, verdict in made.items())
        kinds = set(made.values())
        print(
            f"\naudit: coverage {100 * covered / len(made):.0f} % of {len(made)} decisions ({sorted(kinds)})"
        )
        assert covered == len(made) == len(entries)
        assert kinds == {"allowed", "denied"}
        assert (await audit.verify()).ok

    # Someone with the database file turns one refusal into a permission.
    victim = next(e for e in entries if e.decision == "denied" and e.seq > 1)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE access_audit SET decision = 'allowed' WHERE seq = ?", (victim.seq,))
    raw.close()
    async with access_file(db, readonly=True) as database:
        result = verify(await SqliteAuditStore(database).entries())
    print(f"audit: one altered entry: {'tamper detected' if not result.ok else 'NOT detected'} ({result})")
    assert not result.ok
    assert result.first_bad == victim.seq


def _chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        blank = AuditEntry(
            seq, 1000.0 + seq, "h1", "olga", "cli", f"c{seq}", "car", "lock", "allowed", "ok", prev, ""
        )
        entry = msgspec.structs.replace(blank, hash=rehash(blank))
        entries.append(entry)
        prev = entry.hash
    return entries


@given(n=st.integers(2, 30), data=st.data())
def test_removed_entry_reports_its_seq(n: int, data: st.DataObject) -> None:
    entries = _chain(n)
    gone = data.draw(st.integers(0, n - 2))  # the last one is caught by the head, below
    result = verify(entries[:gone] + entries[gone + 1 :])
    assert not result.ok
    assert result.first_bad == gone + 1


@given(n=st.integers(2, 30), data=st.data())
def test_reordered_entries_report_the_first_out_of_place(n: int, data: st.DataObject) -> None:
    entries = _chain(n)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    entries[i], entries[j] = entries[j], entries[i]
    result = verify(entries)
    assert not result.ok
    assert result.first_bad == i + 1


FIELDS = ("time", "home", "member", "face", "command", "device", "target", "decision", "reason")


@given(n=st.integers(1, 30), data=st.data())
def test_altered_field_reports_its_seq(n: int, data: st.DataObject) -> None:
    entries = _chain(n)
    i = data.draw(st.integers(0, n - 1))
    name = data.draw(st.sampled_from(FIELDS))
    old = getattr(entries[i], name)
    new = old + 0.5 if isinstance(old, float) else ("denied" if name == "decision" else old + "x")
    entries[i] = msgspec.structs.replace(entries[i], **{name: new})
    result = verify(entries)
    assert not result.ok
    assert result.first_bad == i + 1


def test_truncation_is_caught_against_the_head() -> None:
    entries = _chain(5)
    head = (5, entries[-1].hash)
    assert verify(entries, head=head).ok
    assert verify(entries[:-1]).ok  # a shorter chain alone looks whole …
    assert verify(entries[:-1], head=head).first_bad == 5  # … the kept head shows it


async def test_log_continues_the_chain_after_reopening(tmp_path: Path) -> None:
    clock = FakeClock()
    for _ in range(2):
        async with access_file(tmp_path / "a.db") as database:
            log = AuditLog(SqliteAuditStore(database), clock)
            for i in range(3):
                await log.record(
                    home="h1",
                    member="olga",
                    face="cli",
                    command=f"c{i}",
                    device="car",
                    target="lock",
                    decision=Decision(True, "ok"),
                )
    async with access_file(tmp_path / "a.db", readonly=True) as database:
        entries = await SqliteAuditStore(database).entries()
    assert [e.seq for e in entries] == list(range(1, 7))
    assert verify(entries).ok


async def test_the_hub_router_asks_the_gatekeeper_and_every_answer_is_logged(clock: FakeClock) -> None:
    store = MemoryAuditStore()
    keeper, _, audit = gatekeeper(clock, store)
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=keeper) as hub:
        await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
        await hub.add_device(Device(home="h1", id="light", type="light", name="Light"))
        ok = await hub.submit(
            home="h1", device="light", kind="action", target="turn_on", member="fred", face="api"
        )
        with pytest.raises(CommandDenied, match="no live grant"):
            await hub.submit(
                home="h1", device="light", kind="action", target="turn_on", member="gina", face="api"
            )
    entries = await store.entries()
    assert (entries[0].command, entries[0].decision) == (ok.id, "allowed")
    assert [e.decision for e in entries] == ["allowed", "denied"]
    assert (await audit.verify()).ok
