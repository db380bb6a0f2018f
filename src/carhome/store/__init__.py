"""Stores behind the hub's ``Store`` protocol: SQLite (embedded default) and memory."""

from carhome.store.memory import MemoryStore
from carhome.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "SqliteStore"]
