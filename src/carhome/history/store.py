"""Where the history is kept: the ``HistoryStore`` protocol and its memory implementation.

A store keeps finished records (trips, charge sessions, parked spells) and each car's open
state. ``commit`` writes both in one transaction, so a record that closed and the state
that follows it are never seen apart: a restarted hub neither loses a finished trip nor
finishes it twice. Saving a record whose id is already kept replaces it.

Queries select the records of one kind that overlap ``[since, until)`` — a parked spell
that began yesterday still counts for today — optionally of one home and car, oldest first;
with ``limit``, the latest that many.

The SQL stores (``carhome.history.sqlite``, ``carhome.history.postgres``) share their rows
from here: ``record_row`` and ``state_row`` (the columns and the msgspec JSON beside them) and
``Query.filters`` (the conditions a query adds to the kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol, TypeVar

import msgspec

from carhome.history.records import OpenState, Record
from carhome.wire.history import ChargeSession, Parked, Trip

R = TypeVar("R", Trip, ChargeSession, Parked)

KINDS: Final[dict[type, str]] = {Trip: "trip", ChargeSession: "charge", Parked: "parked"}
"""A record type's ``kind`` column in the SQL stores."""

_encode: Final = msgspec.json.Encoder().encode


class Query(msgspec.Struct, frozen=True, kw_only=True):
    """Which records: of a home and car, overlapping a time range (epoch seconds)."""

    home: str | None = None
    car: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = None

    def matches(self, record: Record) -> bool:
        return (
            (self.home is None or record.home == self.home)
            and (self.car is None or record.car == self.car)
            and (self.since is None or record.end >= self.since)
            and (self.until is None or record.start < self.until)
        )

    def filters(self) -> list[tuple[str, str, object]]:
        """The SQL stores' conditions besides the kind: (column, operator, value) of each bound set."""
        bounds = (
            ("home", "=", self.home),
            ("car", "=", self.car),
            ("finish", ">=", self.since),
            ("start", "<", self.until),
        )
        return [(column, op, value) for column, op, value in bounds if value is not None]


def record_row(record: Record) -> tuple[str, str, str, str, float, float, bytes]:
    """A record as the SQL stores' columns: id, kind, home, car, start, finish, data (JSON)."""
    return (
        record.id,
        KINDS[type(record)],
        record.home,
        record.car,
        record.start,
        record.end,
        _encode(record),
    )


def state_row(state: OpenState) -> tuple[str, str, bytes]:
    """An open state as the SQL stores' columns: home, car, data (JSON)."""
    return (state.home, state.car, _encode(state))


class HistoryStore(Protocol):
    """Keeps the history; the SQLite and memory stores pass the same contract tests."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def commit(self, records: Sequence[Record], states: Sequence[OpenState]) -> None:
        """Save finished records and open states together (an empty state closes nothing)."""
        ...

    async def open_states(self) -> list[OpenState]: ...

    async def records(self, kind: type[R], query: Query) -> list[R]: ...


class MemoryHistoryStore:
    """The history in memory: for tests and throwaway hubs."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._states: dict[tuple[str, str], OpenState] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def commit(self, records: Sequence[Record], states: Sequence[OpenState]) -> None:
        for record in records:
            self._records[record.id] = record
        for state in states:
            self._states[(state.home, state.car)] = _copy(state)

    async def open_states(self) -> list[OpenState]:
        return [_copy(s) for s in self._states.values()]

    async def records(self, kind: type[R], query: Query) -> list[R]:
        found = sorted(
            (r for r in self._records.values() if isinstance(r, kind) and query.matches(r)),
            key=lambda r: (r.start, r.id),
        )
        return found[-query.limit :] if query.limit is not None else found


def _copy(state: OpenState) -> OpenState:
    """A state the caller cannot change under the store (it is mutable)."""
    return msgspec.json.decode(msgspec.json.encode(state), type=OpenState)
