"""``DelegateKeys`` in PostgreSQL: the hub's automation delegate keys in the hub's database.

When the hub's store is on PostgreSQL (``carhome.parts.keys.POSTGRES``), the delegate keys
and pins (``carhome.access.delegates``) are kept in one table of that database
(``carhome.pgdatabase.PgDatabase``, part ``delegates``) instead of files of
``<data>/delegates/``: a hub started on another machine, or on an empty data directory,
still signs what an owner delegated to it.

- ``delegate_keys``: one row per (home, device); the key as PEM text (made once, never
  overwritten: ``add_key`` keeps the first one written, so two processes making a key at
  once end up with the same one), the pin as msgspec JSON (NULL until a device accepted a
  delegation). Either may be missing while the other is there, as with the files.

Each write is one committed transaction when it returns. The SQL is all here.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from carhome.access.delegates import Delegation, Pin
from carhome.pgdatabase import PgDatabase
from carhome.sqlitefile import Migrations

PART: Final = "delegates"
WHAT: Final = "delegate keys"

# MIGRATIONS[n] takes the table from version n to n + 1. Append; never edit a shipped step.
MIGRATIONS: Final[Migrations] = (
    (
        "CREATE TABLE delegate_keys ("
        " home TEXT NOT NULL, device TEXT NOT NULL, pem TEXT, pin TEXT,"
        " PRIMARY KEY (home, device))",
        "COMMENT ON TABLE delegate_keys IS 'automation delegate keys: the private key as PEM"
        " (never overwritten) and the pin of the delegation a device accepted (msgspec JSON)'",
    ),
)

_KEY: Final = "SELECT pem FROM delegate_keys WHERE home = $1 AND device = $2"
_ADD_KEY: Final = (
    "INSERT INTO delegate_keys (home, device, pem) VALUES ($1, $2, $3)"
    " ON CONFLICT (home, device) DO UPDATE SET pem = coalesce(delegate_keys.pem, excluded.pem)"
)
_PIN: Final = "SELECT pin FROM delegate_keys WHERE home = $1 AND device = $2"
_WRITE_PIN: Final = (
    "INSERT INTO delegate_keys (home, device, pin) VALUES ($1, $2, $3)"
    " ON CONFLICT (home, device) DO UPDATE SET pin = excluded.pin"
)
_PUT: Final = (
    "INSERT INTO delegate_keys (home, device, pem, pin) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (home, device) DO UPDATE SET pem = excluded.pem, pin = excluded.pin"
)
_ALL: Final = "SELECT home, device, pem, pin FROM delegate_keys ORDER BY home, device"

_decode_pin: Final = msgspec.json.Decoder(Pin).decode


def _first(row: Any) -> Any:
    return row[0]


def _delegation(row: Any) -> Delegation:
    home, device, pem, pin = row
    return Delegation(
        home, device, None if pem is None else pem.encode(), None if pin is None else _decode_pin(pin)
    )


class PostgresDelegateKeys:
    """Delegate keys in table ``delegate_keys`` of ``database`` (opened and closed by its
    owner; ``open`` brings the table up to date)."""

    def __init__(self, database: PgDatabase) -> None:
        self.database = database

    async def open(self) -> None:
        await self.database.migrate(PART, WHAT, MIGRATIONS)

    async def read_key(self, home: str, device: str) -> bytes | None:
        found = await self.database.fetch("reading a delegate key", _first, _KEY, home, device)
        return found[0].encode() if found and found[0] is not None else None

    async def add_key(self, home: str, device: str, pem: bytes) -> bytes:
        await self.database.execute("keeping a delegate key", [(_ADD_KEY, (home, device, pem.decode()))])
        kept = await self.read_key(home, device)
        assert kept is not None  # written just now, and never removed
        return kept

    async def read_pin(self, home: str, device: str) -> Pin | None:
        found = await self.database.fetch("reading a delegate pin", _first, _PIN, home, device)
        return _decode_pin(found[0]) if found and found[0] is not None else None

    async def write_pin(self, home: str, device: str, pin: Pin) -> None:
        data = msgspec.json.encode(pin).decode()
        await self.database.execute("keeping a delegate pin", [(_WRITE_PIN, (home, device, data))])

    async def entries(self) -> list[Delegation]:
        return await self.database.fetch("reading the delegate keys", _delegation, _ALL)

    async def put(self, delegation: Delegation) -> None:
        """Keep ``delegation`` as it is (what ``carhome store copy`` writes)."""
        pem = None if delegation.pem is None else delegation.pem.decode()
        pin = None if delegation.pin is None else msgspec.json.encode(delegation.pin).decode()
        await self.database.execute(
            "copying a delegate key", [(_PUT, (delegation.home, delegation.device, pem, pin))]
        )
