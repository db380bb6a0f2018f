"""Who may open a charger's WebSocket: the Basic password, and the pace of guesses.

OCPP security profile 1 is a password per charger id (HTTP Basic, user = charger id). The
rules, and why:

- An unknown id and a wrong password get the same answer (401, same body and headers)
  from the same work — both passwords are hashed and compared against a digest, a random
  one for an id that does not exist — so a stranger cannot sort real ids from made-up ones.
- Failures, not attempts, cost: each address and each charger id has a bucket of
  ``ADDRESS_FREE`` / ``ID_FREE`` failures that refills by one every ``REFILL_S``. An
  address with an empty bucket is answered 429 (with ``Retry-After``) without its password
  being looked at, so one address guesses a few times and then once a minute.
- A charger id under attack from many addresses slows those addresses only: once the id's
  bucket is empty, an address that has failed before is refused, while an address that
  never failed is still heard — the real charger, on its own address, always gets in. A
  stranger cannot lock a charger out; sharing the charger's address is the one way to slow
  it, and even then it is paced, never shut out.
- Unknown ids are paced exactly as known ones. Throttled attempts are counted, not logged
  one by one.

Time comes from the injected clock; the tables are bounded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Final, Literal

import msgspec

from carhome.clock import Clock

ADDRESS_FREE: Final = 5.0
ID_FREE: Final = 20.0
REFILL_S: Final = 60.0
MAX_ENTRIES: Final = 10_000

Verdict = Literal["ok", "refused", "throttled"]


class Answer(msgspec.Struct, frozen=True):
    verdict: Verdict
    retry_after: float = 0.0


class _Bucket:
    """Failures a key may still make: ``capacity``, one more every ``REFILL_S`` of clock time."""

    __slots__ = ("at", "capacity", "tokens")

    def __init__(self, capacity: float, now: float) -> None:
        self.capacity = capacity
        self.tokens = capacity
        self.at = now

    def fill(self, now: float) -> float:
        elapsed = max(0.0, now - self.at)  # a clock stepped back mints nothing
        self.tokens = min(self.capacity, self.tokens + elapsed / REFILL_S)
        self.at = now
        return self.tokens

    def wait(self) -> float:
        return max(0.0, (1.0 - self.tokens) * REFILL_S)


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode()).digest()


class Guard:
    """Checks a handshake's ``Authorization`` header for a charger id from an address."""

    def __init__(self, passwords: Mapping[str, str], clock: Clock) -> None:
        self._digests = {cid: _digest(pw) for cid, pw in passwords.items()}
        self._nobody = _digest(secrets.token_urlsafe(24))  # what an unknown id is compared with
        self._clock = clock
        self._addresses: dict[str, _Bucket] = {}
        self._ids: dict[str, _Bucket] = {}
        self.throttled = 0

    def check(self, cid: str, address: str, header: str | None) -> Answer:
        now = self._clock.time()
        by_address = self._addresses.get(address)
        by_id = self._ids.get(cid)
        if by_address is not None and by_address.fill(now) >= ADDRESS_FREE:
            del self._addresses[address]  # quiet long enough: a clean address again
            by_address = None
        if by_address is not None and by_address.tokens < 1.0:
            self.throttled += 1
            return Answer("throttled", by_address.wait())
        if by_id is not None and by_id.fill(now) < 1.0 and by_address is not None:
            # the id is under attack and this address has failed before: it waits with the rest
            self.throttled += 1
            return Answer("throttled", by_id.wait())
        if self._password_ok(cid, header):
            return Answer("ok")
        self._fail(self._addresses, address, ADDRESS_FREE, now)
        self._fail(self._ids, cid, ID_FREE, now)
        return Answer("refused")

    def _password_ok(self, cid: str, header: str | None) -> bool:
        user, password = "", ""
        if header is not None and header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
        expected = self._digests.get(cid)
        same_password = hmac.compare_digest(_digest(password), expected or self._nobody)
        same_user = hmac.compare_digest(_digest(user), _digest(cid))
        return expected is not None and same_password and same_user and header is not None

    @staticmethod
    def _fail(table: dict[str, _Bucket], key: str, capacity: float, now: float) -> None:
        bucket = table.get(key)
        if bucket is None:
            if len(table) >= MAX_ENTRIES:
                _evict(table, now)
            bucket = table[key] = _Bucket(capacity, now)
        bucket.fill(now)
        bucket.tokens -= 1.0


def _evict(table: dict[str, _Bucket], now: float) -> None:
    """Make room: forget the buckets that have refilled, else the oldest tenth."""
    full = [key for key, bucket in table.items() if bucket.fill(now) >= bucket.capacity]
    for key in full or list(table)[: max(1, len(table) // 10)]:
        del table[key]
