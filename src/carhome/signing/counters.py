"""Counter windows and the verifier's durable state.

Each enrolled key has one counter window per device epoch: the highest counter accepted
and a 32-bit mask of which of the 32 counters up to it were seen. A counter above the
highest moves the window; one inside it is accepted once; one below it is refused. A
strict window (home locks) accepts only counters above the highest.

The verifier writes its state through a ``VerifierStore`` before it reports a command
accepted, so a verifier restarted within the same epoch still refuses what it accepted.
"""

from __future__ import annotations

import enum
from typing import Final, Protocol

import msgspec

WINDOW: Final = 32
_FULL: Final = (1 << WINDOW) - 1


class Slot(enum.Enum):
    """Where a counter falls in a window."""

    FRESH = "fresh"
    SEEN = "seen"
    BELOW = "below"
    OUT_OF_ORDER = "out_of_order"


class CounterWindow(msgspec.Struct, frozen=True, array_like=True):
    """Highest counter accepted and the mask of seen counters (bit i = highest − i)."""

    highest: int = 0
    mask: int = 0

    def place(self, counter: int, *, strict: bool) -> Slot:
        if counter > self.highest:
            return Slot.FRESH
        offset = self.highest - counter
        if offset < WINDOW and self.mask >> offset & 1:
            return Slot.SEEN
        if strict:
            return Slot.OUT_OF_ORDER
        return Slot.BELOW if offset >= WINDOW else Slot.FRESH

    def accept(self, counter: int) -> CounterWindow:
        """The window after ``counter`` (which ``place`` found FRESH) was accepted."""
        if counter > self.highest:
            shift = counter - self.highest
            mask = ((self.mask << shift) | 1) & _FULL if shift < WINDOW else 1
            return CounterWindow(counter, mask)
        return CounterWindow(self.highest, self.mask | 1 << (self.highest - counter))


class VerifierState(msgspec.Struct, kw_only=True):
    """All a verifier must remember across a restart within one epoch.

    ``started_at`` is the device-clock reading at which the epoch began; ``last_clock`` the
    latest reading seen, so a clock that went back while the verifier was down is noticed.
    """

    epoch: bytes
    started_at: float
    last_clock: float
    windows: dict[bytes, CounterWindow] = msgspec.field(default_factory=dict)


class VerifierStore(Protocol):
    """Durable storage of a verifier's state; ``save`` returns once the state is durable."""

    def load(self) -> VerifierState | None: ...

    def save(self, state: VerifierState) -> None: ...


class MemoryVerifierStore:
    """Keeps the state as encoded bytes, as flash would: nothing is shared with the caller."""

    def __init__(self) -> None:
        self._data: bytes | None = None
        self.writes = 0

    def load(self) -> VerifierState | None:
        if self._data is None:
            return None
        return msgspec.msgpack.decode(self._data, type=VerifierState)

    def save(self, state: VerifierState) -> None:
        self._data = msgspec.msgpack.encode(state)
        self.writes += 1
