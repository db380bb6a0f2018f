"""OCPP 1.6J and 2.0.1 chargers, with carhome as the central system."""

from carhome.connectors.ocpp.server import CONNECTOR, Charger, OcppServer, OcppStats
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.store import MemoryTransactionStore, TransactionStore
from carhome.connectors.ocpp.transactions import Transaction
from carhome.ocpp.messages import OcppVersion, Sample

__all__ = [
    "CONNECTOR",
    "Charger",
    "MemoryTransactionStore",
    "OcppServer",
    "OcppStats",
    "OcppVersion",
    "Sample",
    "SqliteTransactionStore",
    "Transaction",
    "TransactionStore",
]
