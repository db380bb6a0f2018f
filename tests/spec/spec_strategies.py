"""Hypothesis strategies for property specs and the values devices might send."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from carhome.spec import Access, Format, PropertySpec

# Ints well beyond float's range, to keep the checks honest about overflow.
_INT_BOUND = 2**1100

scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-_INT_BOUND, _INT_BOUND),
    st.floats(),  # nan and ±inf included on purpose
    st.text(max_size=20),
)


def any_json_value() -> st.SearchStrategy[Any]:
    """Anything a JSON decoder can hand over, nested a little."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_bounds = st.one_of(st.none(), st.integers(-1000, 1000), st.floats(-1e6, 1e6))


@st.composite
def property_specs(draw: st.DrawFn, name: st.SearchStrategy[str] = names) -> PropertySpec:
    fmt = draw(st.sampled_from(Format))
    lo = hi = None
    allowed = None
    if fmt in (Format.INT, Format.FLOAT):
        lo, hi = draw(_bounds), draw(_bounds)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
    if fmt is Format.STRING:
        allowed = draw(
            st.one_of(
                st.none(), st.lists(st.text(max_size=8), min_size=1, max_size=4, unique=True).map(tuple)
            )
        )
    access = draw(st.sampled_from([Access.RN, Access.RWN]))
    unit = draw(st.sampled_from([None, "percent", "km", "celsius"]))
    return PropertySpec(draw(name), fmt, unit, lo, hi, allowed, access)


def conforming(spec: PropertySpec) -> st.SearchStrategy[Any]:
    """Values ``spec`` must accept unchanged."""
    if spec.format is Format.BOOL:
        return st.booleans()
    if spec.format is Format.STRING:
        return st.sampled_from(spec.allowed) if spec.allowed is not None else st.text()
    lo, hi = spec.minimum, spec.maximum
    if spec.format is Format.INT:
        first, last = (None if lo is None else math.ceil(lo)), (None if hi is None else math.floor(hi))
        assume(first is None or last is None or first <= last)  # e.g. 0.5..0.9 holds no int
        return st.integers(first, last)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
