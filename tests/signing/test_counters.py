"""The sliding counter window, against a plain model of what it must accept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carhome.signing import CounterWindow, MemoryVerifierStore, VerifierState
from carhome.signing.counters import WINDOW, Slot


def run(counters: list[int], *, strict: bool) -> list[bool]:
    window = CounterWindow()
    out = []
    for counter in counters:
        ok = window.place(counter, strict=strict) is Slot.FRESH
        if ok:
            window = window.accept(counter)
        out.append(ok)
    return out


def model(counters: list[int], *, strict: bool) -> list[bool]:
    seen: set[int] = set()
    out = []
    for counter in counters:
        highest = max(seen, default=0)
        fresh = counter not in seen and counter > highest - WINDOW
        ok = counter > highest if strict else fresh
        if ok:
            seen.add(counter)
        out.append(ok)
    return out


@given(st.lists(st.integers(1, 200), max_size=300), st.booleans())
def test_window_matches_the_model(counters: list[int], strict: bool) -> None:
    assert run(counters, strict=strict) == model(counters, strict=strict)


def test_window_edges() -> None:
    window = CounterWindow().accept(40)
    assert window.place(40, strict=False) is Slot.SEEN
    assert window.place(9, strict=False) is Slot.FRESH  # 40 - 31
    assert window.place(8, strict=False) is Slot.BELOW  # 40 - 32
    assert window.place(39, strict=True) is Slot.OUT_OF_ORDER
    assert window.place(40, strict=True) is Slot.SEEN
    jumped = window.accept(1_000)
    assert jumped == CounterWindow(1_000, 1)
    assert jumped.place(40, strict=False) is Slot.BELOW


def test_memory_store_shares_nothing_with_the_caller() -> None:
    store = MemoryVerifierStore()
    assert store.load() is None
    state = VerifierState(epoch=b"e" * 16, started_at=1.0, last_clock=2.0)
    store.save(state)
    state.windows[b"k"] = CounterWindow(5, 1)
    loaded = store.load()
    assert loaded is not None
    assert loaded.windows == {}
    assert store.writes == 1
