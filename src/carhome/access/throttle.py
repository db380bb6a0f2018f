"""Token buckets on the injected clock, and the login throttle built from them.

A bucket holds up to ``capacity`` tokens and gains ``rate`` per second of clock time;
each attempt takes one. ``LoginThrottle`` keeps one bucket per account and one per
address, and lets an attempt through only if both have a token.
"""

from __future__ import annotations

from typing import Final

from carhome.clock import Clock

MAX_BUCKETS: Final = 100_000


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

    def wait(self, now: float) -> float:
        """Seconds until the next token."""
        self._fill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def full(self, now: float) -> bool:
        self._fill(now)
        return self._tokens >= self.capacity


class LoginThrottle:
    """Per account: 5 tries, then one a minute; per address: 20, then one every 6 s."""

    def __init__(
        self,
        clock: Clock,
        *,
        account: tuple[float, float] = (5, 1 / 60),
        address: tuple[float, float] = (20, 1 / 6),
    ) -> None:
        self._clock = clock
        self._limits = {"account": account, "address": address}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def attempt(self, account: str, address: str) -> float:
        """Take a token from both buckets and return 0, or return the seconds to wait."""
        now = self._clock.time()
        buckets = [self._bucket("account", account, now), self._bucket("address", address, now)]
        if all(b.available(now) for b in buckets):
            for bucket in buckets:
                bucket.take(now)
            return 0.0
        return max(b.wait(now) for b in buckets)

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
