"""The key asks a device decodes from the broker, fuzzed: refused cleanly, never a crash."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carhome.signing.keeper import DeviceKeys
from carhome.signing.relay import KeyAnswer, KeyAsk, answer
from carhome.spec import SPECS
from carhome.testing import FakeClock

_b64 = st.binary(max_size=80).map(lambda b: base64.b64encode(b).decode())
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), _b64)
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
)
_ops = st.fixed_dictionaries(
    {"type": st.sampled_from(["session", "begin", "enroll", "list", "revoke", "other"])},
    optional={
        "request": st.dictionaries(
            st.sampled_from(["phone_key", "nonce", "new_key", "role", "member", "code", "proof"]), _json
        ),
        "revocation": st.dictionaries(st.sampled_from(["point", "approver", "approval"]), _json),
    },
)
_asks = st.fixed_dictionaries({"id": st.text(max_size=70), "op": _ops}) | _json


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ask=_asks)
def test_any_ask_is_answered_or_refused(ask: Any, tmp_path: Path) -> None:
    keeper = DeviceKeys(
        tmp_path / "device", home="h1", device="garage_door", spec=SPECS["garage_door"], clock=FakeClock()
    )
    try:
        decoded = msgspec.json.decode(msgspec.json.encode(ask), type=KeyAsk)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return  # the device logs and counts it, and answers nothing
    reply = answer(keeper, decoded)
    assert isinstance(reply, KeyAnswer)
    assert reply.id == decoded.id
    assert len(keeper.listing()) == 0  # nothing random ever enrolls a key
