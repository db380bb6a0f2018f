"""``carhome store copy`` takes the parts' durable things along: the history, the automation
timers and the OCPP transactions beside a SQLite hub database go into the PostgreSQL
target's tables and back, every table counted on both sides; a target part that holds
anything is refused unless forced; a source without a part's file makes none at the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from carhome.automations import SavedTimer, SqliteTimerStore
from carhome.cli import exits
from carhome.compose.copy_parts import Parts, source_parts
from carhome.connectors.ocpp import Sample
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.transactions import Register, Transaction
from carhome.history import ChargeSession, OpenState, Parked, Query, SqliteHistoryStore, Trip
from carhome.history.records import OpenTrip
from carhome.history.records import Snapshot as At
from carhome.hub import Home
from carhome.store import SqliteStore, open_store

from .copy_rig import assert_told, carhome, there_and_back

T0 = 1_767_225_600.0
PART_FILES = ("carhome.history.db", "carhome.timers.db", "carhome.ocpp.db")


def _trip(i: int) -> Trip:
    start = T0 + i * 3600
    return Trip(
        id=f"trip-{i}", home=f"h{i % 2}", car="car", start=start, end=start + 1200,
        start_place="home", end_place=None, start_lat=39.8, start_lon=116.5, end_lat=39.7, end_lon=116.6,
        odometer_start_km=100.0 + i, odometer_end_km=110.0 + i, distance_km=10.0, energy_kwh=1.6,
        wh_per_km=160.0, soc_start=80.0, soc_end=78.0, max_speed_kmh=None, gaps=i % 3 == 0,
    )  # fmt: skip


def _charge(i: int) -> ChargeSession:
    start = T0 + i * 7200 + 1800
    return ChargeSession(
        id=f"charge-{i}", home="h1", car="car", start=start, end=start + 3600, place="home", lat=None,
        lon=None, charger="wallbox" if i % 2 else None, added_kwh=7.0, grid_kwh=7.5, loss_kwh=0.5,
        peak_kw=7.4, soc_start=40.0, soc_end=60.0, cost=None, cost_basis=None,
    )  # fmt: skip


def _parked(i: int) -> Parked:
    start = T0 + i * 5000
    return Parked(
        id=f"parked-{i}", home="h1", car="van", start=start, end=start + 900, place="work", lost_kwh=0.1
    )


def _transaction(i: int) -> Transaction:
    started = T0 + i * 600
    stopped = None if i % 4 == 0 else started + 500
    return Transaction(
        id=str(i), charger=f"CP-{i % 3}", connector=1, id_tag="RFID-ALICE", member="alice",
        started=started, start_wh=1_000.0 * i, stopped=stopped,
        stop_wh=None if stopped is None else 1_000.0 * i + 700, ended=None if stopped is None else "charger",
    )  # fmt: skip


@dataclass(frozen=True)
class Held:
    trips: list[Trip]
    charges: list[ChargeSession]
    parked: list[Parked]
    states: list[OpenState]
    timers: list[SavedTimer]
    transactions: list[Transaction]
    registers: list[Register]


async def _fill(db: Path) -> str:
    """A hub's store with one home, and its history, timers and transactions beside it;
    returns the store's URL."""
    async with SqliteStore(db) as store:
        await store.save_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
    async with SqliteHistoryStore.beside(db) as history:
        await history.commit([_trip(i) for i in range(40)], [])
        await history.commit([_charge(i) for i in range(15)], [])
        await history.commit([_parked(i) for i in range(25)], [])
        await history.commit(
            [],
            [
                OpenState(home="h1", car="car", trip=OpenTrip(start=At(ts=T0, odometer_km=1.0))),
                OpenState(home="h1", car="van"),
            ],
        )
    async with SqliteTimerStore.beside(db) as timers:
        for i in range(12):
            data = {"step": [0, i], "vars": {"who": "Ana"}}
            await timers.save(
                SavedTimer(key=f"a{i}/run/{i}", automation=f"a{i}", kind="delay", due=T0 + i, data=data)
            )
    async with SqliteTransactionStore.beside(db) as ocpp:
        for i in range(9):
            samples = [Sample(T0 + i * 600 + k * 60, 1_000.0 * i + k * 100, 7_400.0) for k in range(1, 6)]
            await ocpp.save(_transaction(i), samples)
        for charger in range(3):
            await ocpp.save_register(Register(charger=f"CP-{charger}", connector=1, ts=T0, energy_wh=42.0))
    return f"sqlite:///{db}"


async def _held(url: str) -> Held:
    """Everything of the parts beside the hub's store at ``url``."""
    async with open_store(url) as store:
        parts: Parts = source_parts(store)
        assert parts.history is not None
        assert parts.timers is not None
        assert parts.ocpp is not None
        async with parts.history as history, parts.timers as timers, parts.ocpp as ocpp:
            saved = await ocpp.load(-math.inf)
            return Held(
                trips=await history.records(Trip, Query()),
                charges=await history.records(ChargeSession, Query()),
                parked=await history.records(Parked, Query()),
                states=sorted(await history.open_states(), key=lambda s: (s.home, s.car)),
                timers=await timers.load(),
                transactions=saved.transactions,
                registers=sorted(saved.registers, key=lambda r: (r.charger, r.connector)),
            )


@pytest.mark.postgres
async def test_copy_takes_the_history_timers_and_transactions_to_postgresql_and_back(
    tmp_path: Path, postgres_url: str
) -> None:
    source = await _fill(tmp_path / "carhome.db")
    there, back, back_url = await there_and_back(source, postgres_url, tmp_path / "back")

    original, on_postgres, returned = await _held(source), await _held(postgres_url), await _held(back_url)
    counts = {name: len(rows) for name, rows in vars(original).items()}
    samples = sum(len(tx.samples) for tx in original.transactions)
    print(
        f"parts copied sqlite → postgresql → sqlite: {counts}, {samples} samples;"
        f" equal: {on_postgres == original == returned}"
    )
    assert counts == {
        "trips": 40, "charges": 15, "parked": 25, "states": 2, "timers": 12, "transactions": 9, "registers": 3
    }  # fmt: skip
    assert samples == 45
    assert on_postgres == original
    assert returned == original
    assert_told(
        (
            "  trips: 40 in the source, 40 in the target",
            "  charge sessions: 15 in the source, 15 in the target",
            "  parked spells: 25 in the source, 25 in the target",
            "  open states: 2 in the source, 2 in the target",
            "  automation timers: 12 in the source, 12 in the target",
            "  OCPP transactions: 9 in the source, 9 in the target",
            "  OCPP samples: 45 in the source, 45 in the target",
            "  OCPP registers: 3 in the source, 3 in the target",
        ),
        there,
        back,
    )
    assert "automation timers: 12 copied" in there.output


@pytest.mark.postgres
async def test_copy_refuses_a_target_whose_parts_hold_anything_unless_forced(
    tmp_path: Path, postgres_url: str
) -> None:
    source = await _fill(tmp_path / "carhome.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with SqliteStore(elsewhere / "carhome.db"):
        pass
    async with SqliteTimerStore.beside(elsewhere / "carhome.db") as timers:
        await timers.save(SavedTimer(key="other/run/1", automation="other", kind="wait", due=T0))
    first = await carhome(
        "store", "copy", "--from", f"sqlite:///{elsewhere / 'carhome.db'}", "--to", postgres_url
    )
    assert first.exit_code == 0, first.output

    refused = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert refused.exit_code == exits.HUB, refused.output
    assert (
        "is not empty (1 automation timers); copy into an empty database, or give --force" in refused.output
    )
    assert (await _held(postgres_url)).trips == []  # nothing written
    async with open_store(postgres_url) as store:
        assert await store.homes() == []

    forced = await carhome("store", "copy", "--from", source, "--to", postgres_url, "--force")
    assert forced.exit_code == 0, forced.output
    assert "  automation timers: 12 in the source, 13 in the target" in forced.output
    assert len((await _held(postgres_url)).trips) == 40


async def test_a_source_without_part_files_makes_none_at_the_target(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "carhome.db") as store:
        await store.save_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
    (tmp_path / "copy").mkdir()
    done = await carhome(
        "store",
        "copy",
        "--from",
        f"sqlite:///{tmp_path / 'carhome.db'}",
        "--to",
        f"sqlite:///{tmp_path / 'copy' / 'carhome.db'}",
    )
    assert done.exit_code == 0, done.output
    assert "  homes: 1 in the source, 1 in the target" in done.output
    assert "trips" not in done.output
    assert sorted(p.name for p in (tmp_path / "copy").iterdir() if p.name in PART_FILES) == []
