"""carhome.history: trips, charge sessions and parked spells derived from the cars' telemetry.

``History`` listens to every car on the hub and keeps what it derives in a ``HistoryStore``
(``SqliteHistoryStore.beside(db)`` next to the hub's database, ``PostgresHistoryStore`` in the
hub's PostgreSQL database, or ``MemoryHistoryStore``);
``summarize`` totals it by local day or month; ``charts`` draws plans and trips.
"""

from carhome.history.postgres import PostgresHistoryStore
from carhome.history.records import OpenState, Record, Snapshot
from carhome.history.service import History
from carhome.history.sqlite import SqliteHistoryStore
from carhome.history.store import HistoryStore, MemoryHistoryStore, Query
from carhome.history.summaries import summarize
from carhome.history.tracker import CarTracker, Settings
from carhome.wire.history import ChargeSession, Parked, Period, Summary, Trip

__all__ = [
    "CarTracker",
    "ChargeSession",
    "History",
    "HistoryStore",
    "MemoryHistoryStore",
    "OpenState",
    "Parked",
    "Period",
    "PostgresHistoryStore",
    "Query",
    "Record",
    "Settings",
    "Snapshot",
    "SqliteHistoryStore",
    "Summary",
    "Trip",
    "summarize",
]
