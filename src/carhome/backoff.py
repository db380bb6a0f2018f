"""Backoff: how long to wait between attempts to reach something that went away.

Every reconnect and retry in carhome — an MQTT link, the KUKSA databroker stream, the
built-in broker's restarts, the simulator's and the test charger's links — waits with one
``Backoff``: doubling delays from ``first`` up to ``most``, jittered so a fleet of clients
does not come back in step after a broker restart. Each caller waits the
delays on the hub's injected clock (``clock.sleep``), never in real seconds of its own: tests
pass a backoff by advancing a fake clock, and a demo on a fast clock reconnects as fast as
its simulated time runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from carhome.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: doubling from ``first`` up to ``most`` seconds, jittered."""

    first: float = 0.5
    most: float = 30.0
    jitter: float = 0.2
    """Each delay is drawn within ± this fraction of its nominal value."""

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.most:
            raise ConfigError(f"backoff needs 0 < first <= most, got {self.first} and {self.most}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"backoff jitter is a fraction in [0, 1), got {self.jitter}")

    def delays(self) -> Iterator[float]:
        """The delays before each attempt, without end."""
        delay = self.first
        while True:
            # Jitter, not security: spreads a fleet's reconnects after a broker restart.
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311
            delay = min(delay * 2, self.most)
