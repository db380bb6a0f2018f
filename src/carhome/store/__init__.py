"""Stores behind the hub's ``Store`` protocol: SQLite (embedded default), PostgreSQL and memory.

``open_store(url)`` picks one by its URL.
"""

from carhome.errors import ConfigError
from carhome.store.memory import MemoryStore
from carhome.store.postgres import PostgresStore, redacted
from carhome.store.sqlite import SqliteStore

__all__ = ["MemoryStore", "PostgresStore", "SqliteStore", "check_store_url", "open_store", "sqlite_path"]

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str) -> SqliteStore | PostgresStore:
    """The store at ``url``, not yet opened (a ``Hub`` opens it, or ``async with``).

    - ``sqlite:///hub.db`` a SQLite file, relative to the working directory;
      ``sqlite:////var/lib/carhome/hub.db`` an absolute path; ``sqlite:///:memory:`` a
      throwaway database;
    - ``postgresql://user:password@host:port/database`` (or ``postgres://``) a PostgreSQL
      database, with libpq's query parameters (``?sslmode=require``).

    Any other URL is a ``ConfigError`` saying which forms are taken.
    """
    path = sqlite_path(check_store_url(url))
    return SqliteStore(path) if path is not None else PostgresStore(url)


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL (``:memory:`` for a throwaway one), else None."""
    if url.startswith(_SQLITE) and len(url) > len(_SQLITE):
        return url[len(_SQLITE) :]
    return None


def check_store_url(url: str) -> str:
    """``url`` if it names a store ``open_store`` can open; else a ``ConfigError`` saying
    which forms are taken (the URL in it without its password)."""
    if sqlite_path(url) is not None or url.startswith(_POSTGRES):
        return url
    raise ConfigError(
        f"store {redacted(url)!r}: not a store URL; use sqlite:///path/to/hub.db (four slashes for an"
        " absolute path) or postgresql://user:password@host:port/database"
    )
