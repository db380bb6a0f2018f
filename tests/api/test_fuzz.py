"""Whatever a client sends, the API answers with a status it documents, never a 500."""

from __future__ import annotations

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.sampled_from(["set", "action"]), _scalars),
        "target": st.one_of(st.sampled_from(["mode", "fan_level", "turn_on", "pm25"]), _scalars),
        "args": st.one_of(st.dictionaries(st.sampled_from(["value", "x"]), _scalars), _values),
        "ttl": st.one_of(st.floats(-1, 100_000), _scalars),
        "wait": st.one_of(st.just(0), _scalars),
    },
)


# The hub accumulates commands across examples; that is harmless here.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_bodies.map(msgspec.json.encode), st.binary(max_size=60)))
async def test_any_body_gets_a_documented_answer(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post("/api/devices/h1/purifier/commands", content=body)
    assert r.status_code in {200, 202, 403, 422}, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"]
