"""Stores behind the hub's ``Store`` protocol: SQLite (embedded default) and memory."""

from carhome.store.memory import MemoryStore

__all__ = ["MemoryStore"]
