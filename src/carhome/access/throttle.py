"""Token buckets on the injected clock, and the login throttle built from them.

A bucket holds up to ``capacity`` tokens and gains ``rate`` per second of clock time;
each attempt takes one. ``LoginThrottle`` slows guessing without handing a stranger the
power to lock a member out:

- **account × address**: 5 tries, then one a minute — guessing one member's password from
  one place;
- **address**: 20 tries, then one every 6 s — one place spraying many members;
- **account**, from every address the member has not logged in from before: 10 tries, then
  two a minute — one member guessed at from many places. It refills twice as fast as one
  address may try, so one address alone never empties it, and an address the member has
  logged in from is never held back by it.

An attempt takes a token from each of its buckets before the password is checked (so a
burst of parallel tries cannot all slip through while the first is checked) and a correct
password gives them back (``succeeded``): only wrong passwords are counted, and a member's
own login never uses up what protects them. An IPv6 address counts by its /64 network,
which one machine or one home gets whole.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from typing import Final

import msgspec

from carhome.clock import Clock

MAX_BUCKETS: Final = 100_000
KNOWN_PER_ACCOUNT: Final = 16
"""How many addresses each account remembers having logged in from."""

Limit = tuple[float, float]
"""(capacity, tokens per second)"""

PAIR: Final[Limit] = (5, 1 / 60)
ADDRESS: Final[Limit] = (20, 1 / 6)
ACCOUNT: Final[Limit] = (10, 1 / 30)


class TokenBucket:
    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = capacity
        self._at = now

    def _fill(self, now: float) -> None:
        # A wall clock stepped back must not mint tokens, nor leave the bucket stuck.
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._at = now

    def available(self, now: float) -> bool:
        self._fill(now)
        return self._tokens >= 1.0

    def take(self, now: float) -> None:
        self._fill(now)
        self._tokens -= 1.0

    def give_back(self, now: float) -> None:
        self._fill(now)
        self._tokens = min(self.capacity, self._tokens + 1.0)

    def wait(self, now: float) -> float:
        """Seconds until the next token."""
        self._fill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def full(self, now: float) -> bool:
        self._fill(now)
        return self._tokens >= self.capacity


class Attempt(msgspec.Struct, frozen=True):
    """A login attempt let through: its buckets, to give back if the password was right."""

    account: str
    address: str
    keys: tuple[tuple[str, str], ...]


def address_key(address: str) -> str:
    """The key an address is counted under: IPv4 as is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    """Login attempts counted per account and address, per address and per account."""

    def __init__(
        self,
        clock: Clock,
        *,
        pair: Limit = PAIR,
        address: Limit = ADDRESS,
        account: Limit = ACCOUNT,
    ) -> None:
        self._clock = clock
        self._limits = {"pair": pair, "address": address, "account": account}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._known: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    def attempt(self, account: str, address: str) -> Attempt | float:
        """Take a token from each bucket of this attempt and return the ``Attempt``, or
        return the seconds to wait (nothing taken)."""
        now = self._clock.time()
        where = address_key(address)
        keys = [("pair", f"{account}\n{where}"), ("address", where)]
        if where not in self._known.get(account, ()):
            keys.append(("account", account))
        # A bucket not made yet is full: refused tries make none, so they cannot fill memory.
        waits = [b.wait(now) for b in (self._buckets.get(k) for k in keys) if b is not None]
        if any(waits):
            return max(waits)
        for kind, key in keys:
            self._bucket(kind, key, now).take(now)
        return Attempt(account, where, tuple(keys))

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: give the attempt's tokens back and remember the address
        for the account. (Earlier wrong tries stay counted: someone sharing the member's
        address gains no fresh tries from the member's own login.)"""
        now = self._clock.time()
        for key in attempt.keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.give_back(now)
        known = self._known.pop(attempt.account, None) or OrderedDict()
        known[attempt.address] = None
        known.move_to_end(attempt.address)
        while len(known) > KNOWN_PER_ACCOUNT:
            known.popitem(last=False)
        self._known[attempt.account] = known
        while len(self._known) > MAX_BUCKETS:
            self._known.popitem(last=False)

    def _bucket(self, kind: str, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                # A full bucket knows nothing a new one would not: forget those first.
                for stale in [k for k, b in self._buckets.items() if b.full(now)]:
                    del self._buckets[stale]
            capacity, rate = self._limits[kind]
            bucket = self._buckets[(kind, key)] = TokenBucket(capacity, rate, now)
        return bucket
