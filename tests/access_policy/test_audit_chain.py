"""The hash-chained audit log: coverage of every decision, and tampering detected."""

from __future__ import annotations

import asyncio
import itertools

import msgspec
import pytest
from backends import Backend
from hypothesis import given
from hypothesis import strategies as st
from policy_rig import COMMANDS, DEVICES, FACES, command, gatekeeper, people

from carhome.access.audit import GENESIS, AuditLog, AuditStore, rehash, verify, verify_chains
from carhome.access.postgres import PostgresAuditStore, open_tables
from carhome.errors import CommandDenied
from carhome.hub import Device, Home, Hub
from carhome.hub.commands import Decision
from carhome.pgdatabase import PgDatabase
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.wire.members import AuditEntry


async def test_every_decision_is_on_record_and_tamper_is_detected(kept: Backend) -> None:
    clock = FakeClock()
    async with kept.stores() as (_, store):
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
            f"\naudit ({kept.name}): coverage {100 * covered / len(made):.0f} % of {len(made)} decisions"
            f" ({sorted(kinds)})"
        )
        assert covered == len(made) == len(entries)
        assert kinds == {"allowed", "denied"}
        assert (await audit.verify()).ok

    # Someone with the database turns one refusal into a permission.
    victim = next(e for e in entries if e.decision == "denied" and e.seq > 1)
    await kept.alter(victim.home, victim.seq)
    async with kept.stores() as (_, store):
        result = verify_chains(await store.entries(), per_home=store.per_home)
    print(f"audit: one altered entry: {'tamper detected' if not result.ok else 'NOT detected'} ({result})")
    assert not result.ok
    assert result.first_bad == victim.seq
    assert result.home == (victim.home if kept.per_home else None)


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


def test_a_head_other_writers_went_past_must_be_in_the_chain() -> None:
    entries = _chain(5)
    head = (3, entries[2].hash)  # this log wrote seq 3; another hub wrote 4 and 5
    assert not verify(entries, head=head).ok
    assert verify(entries, head=head, ends_at_head=False).ok
    cut = verify(entries[:2], head=head, ends_at_head=False)
    assert (cut.ok, cut.first_bad) == (False, 3)
    rewritten = verify(entries, head=(3, "f" * 64), ends_at_head=False)
    assert (rewritten.ok, rewritten.first_bad) == (False, 3)


async def test_log_continues_the_chain_after_reopening(kept: Backend) -> None:
    clock = FakeClock()
    for _ in range(2):
        async with kept.stores() as (_, store):
            log = AuditLog(store, clock)
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
    async with kept.stores() as (_, store):
        entries = await store.entries()
    assert [e.seq for e in entries] == list(range(1, 7))
    assert verify(entries).ok


async def test_the_hub_router_asks_the_gatekeeper_and_every_answer_is_logged(
    clock: FakeClock, backend: Backend
) -> None:
    async with backend.stores() as (_, store):
        await _routed(clock, store)


async def _routed(clock: FakeClock, store: AuditStore) -> None:
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


async def _record(log: AuditLog, home: str, member: str, i: int) -> None:
    await log.record(
        home=home,
        member=member,
        face="api",
        command=f"{member}{i}",
        device="car",
        target="lock",
        decision=Decision(True, "ok"),
    )


async def test_each_home_has_a_chain_of_its_own_on_postgresql(clock: FakeClock, kept: Backend) -> None:
    """PostgreSQL keeps a chain per home; an access.db one for all its homes (as it always did).
    A cut of one home's last entry shows against the head the log keeps of that home."""
    async with kept.stores() as (_, store):
        log = AuditLog(store, clock)
        for i in range(5):
            await _record(log, "h1", "olga", i)
            await _record(log, "h2", "otto", i)
        entries = await store.entries()
        assert (await log.verify()).ok
        if kept.per_home:
            assert [(e.home, e.seq) for e in entries] == [(h, s) for h in ("h1", "h2") for s in range(1, 6)]
        else:
            assert [e.seq for e in entries] == list(range(1, 11))
        last = entries[-1]
        await kept.remove(last.home, last.seq)
        shorter = await store.entries()
        assert verify_chains(shorter, per_home=store.per_home).ok  # a shorter chain alone looks whole …
        result = await log.verify()  # … the head the log keeps of it shows the cut
        h1, h2 = await log.verify("h1"), await log.verify("h2")
    print(f"\naudit ({kept.name}): last entry of h2 cut: {result}")
    assert not result.ok
    assert (h2.ok, h2.first_bad, h2.problem, h2.home) == (
        False,
        result.first_bad,
        result.problem,
        result.home,
    )
    assert h1.ok is kept.per_home  # h1's own chain is whole; an access.db's one chain is not
    assert result.first_bad == last.seq
    assert result.home == ("h2" if kept.per_home else None)


@pytest.mark.postgres
async def test_two_logs_on_two_pools_never_fork_one_homes_chain(clock: FakeClock, postgres_url: str) -> None:
    """Two hub processes (two pools, two logs) append to home h1 at once: every entry is
    kept, in one chain, each log linking again to the other's entries as it finds them."""
    per_log = 40
    async with PgDatabase(postgres_url) as one, PgDatabase(postgres_url) as two:
        await open_tables(one)
        await open_tables(two)
        logs = (AuditLog(PostgresAuditStore(one), clock), AuditLog(PostgresAuditStore(two), clock))

        # each round, both logs append to h1's chain at once: they race for the same next seq
        # every time (how the scheduler runs two free-running writers is not a race to count on)
        for i in range(per_log):
            await asyncio.gather(
                _record(logs[0], "h1", "ann", i),
                _record(logs[1], "h1", "bob", i),
                *([_record(logs[1], "h2", "otto", 0)] if i == 0 else []),
            )
        entries = await PostgresAuditStore(one).entries()
        results = [await log.verify() for log in logs]
    chain = [e for e in entries if e.home == "h1"]
    turns = sum(a.member != b.member for a, b in itertools.pairwise(chain))
    print(
        f"\naudit: {len(chain)} of {2 * per_log} concurrent appends kept in one chain of h1,"
        f" {turns} turns between the two logs, {'intact' if all(r.ok for r in results) else 'FORKED'}"
    )
    assert [e.seq for e in chain] == list(range(1, 2 * per_log + 1))
    assert {e.member for e in chain} == {"ann", "bob"}
    assert turns > 1  # the logs did interleave: each found the other's entries in its way
    assert all(r.ok for r in results)
    assert [(e.home, e.seq) for e in entries if e.home == "h2"] == [("h2", 1)]
