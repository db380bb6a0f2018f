"""The decoders at the MQTT edge: whatever arrives, they return a typed value or raise
``MalformedMessage`` — nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.errors import InvalidName
from carhome.hub import Command
from carhome.mqtt import CommandMessage, Kind, MalformedMessage, Topic, hub_status_topic
from carhome.mqtt.payloads import (
    decode_ack,
    decode_command,
    decode_event,
    decode_state,
    decode_status,
    encode_command,
)

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,62}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
json_objects = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "kind",
            "target",
            "args",
            "expires",
            "signature",
            "status",
            "result",
            "error",
            "name",
            "fields",
            "ts",
            "on",
        ]
    )
    | st.text(max_size=6),
    json_values | st.sampled_from(["set", "action", "acked", "failed", "expired", "x"]),
    max_size=7,
)


def as_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity included: JSON they are not


finite_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)

DECODERS = [decode_state, decode_event, decode_command, decode_ack, decode_status]


CODES = {"malformed_payload", "too_deep", "bad_ts", "bad_event", "bad_command", "bad_ack", "bad_status"}


def outcome(decode: Any, payload: bytes) -> str:
    """``ok``, or the code of the ``MalformedMessage``; anything else raised fails the test."""
    try:
        decode(payload)
    except MalformedMessage as exc:
        return exc.code if exc.reason else "no reason"
    return "ok"


@given(payload=st.binary(max_size=200))
def test_any_bytes_decode_or_raise_malformed(payload: bytes) -> None:
    for decode in DECODERS:
        assert outcome(decode, payload) in {"ok", *CODES}


@given(value=json_objects | json_values)
def test_any_json_decodes_or_raises_malformed(value: Any) -> None:
    payload = as_bytes(value)
    for decode in DECODERS:
        assert outcome(decode, payload) in {"ok", *CODES}


@given(raw=st.binary(max_size=100) | st.text(max_size=100))
def test_any_topic_parses_or_raises_malformed(raw: bytes | str) -> None:
    assert outcome(Topic.parse, raw) in {"ok", "bad_topic"}  # type: ignore[arg-type]
    if outcome(Topic.parse, raw) == "ok":  # type: ignore[arg-type]
        assert str(Topic.parse(raw)) == (raw.decode() if isinstance(raw, bytes) else raw)


@given(home=names, device=names, kind=st.sampled_from(Kind))
def test_topic_round_trips(home: str, device: str, kind: Kind) -> None:
    topic = Topic(home, device, kind)
    assert Topic.parse(str(topic)) == topic
    assert Topic.parse(str(topic).encode()) == topic


@pytest.mark.parametrize(
    "raw",
    [
        "carhome/h1/car",
        "carhome/h1/car/state/x",
        "home/h1/car/state",
        "carhome/h1/car/telemetry",
        "carhome/h1/Car/state",
        "carhome//car/state",
        "carhome/h1/+/state",
        b"carhome/\xff/c/state",
    ],
)
def test_bad_topics_say_why(raw: str | bytes) -> None:
    with pytest.raises(MalformedMessage, match="topic") as info:
        Topic.parse(raw)
    assert info.value.code == "bad_topic"


def test_state_takes_ts_out_of_the_values() -> None:
    assert decode_state(b'{"on": true, "ts": 1767225600}') == ({"on": True}, 1767225600.0)
    assert decode_state(b'{"on": true}') == ({"on": True}, None)


@pytest.mark.parametrize("ts", [b'"now"', b"true", b"-1", b"[1]", b"null"])
def test_bad_ts_is_rejected(ts: bytes) -> None:
    payload = b'{"on": true, "ts": ' + ts + b"}"
    if ts == b"null":  # an explicit null is "no ts"
        assert decode_state(payload) == ({"on": True}, None)
        return
    with pytest.raises(MalformedMessage) as info:
        decode_state(payload)
    assert info.value.code == "bad_ts"


@given(
    command_id=st.text(min_size=1, max_size=40),
    target=st.text(min_size=1, max_size=40),
    args=st.dictionaries(st.text(max_size=8), finite_json, max_size=3),
    expires=st.floats(min_value=0, max_value=1e10),
    signature=st.none() | st.text(max_size=20),
)
def test_command_round_trips(
    command_id: str, target: str, args: dict[str, Any], expires: float, signature: str | None
) -> None:
    command = Command(
        id=command_id,
        home="h1",
        device="car",
        kind="action",
        target=target,
        args=args,
        member="m",
        face="f",
        created=0.0,
        expires=expires,
        signature=signature,
    )
    message = decode_command(encode_command(command))
    assert message == CommandMessage.of(command)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id": "1", "kind": "set", "target": "on", "args": {}, "expires": 1}',
        b'{"id": "1", "kind": "set", "target": "on", "args": {"value": 1, "x": 2}, "expires": 1}',
        b'{"id": "", "kind": "action", "target": "go", "args": {}, "expires": 1}',
        b'{"id": "1", "kind": "run", "target": "go", "args": {}, "expires": 1}',
        b'{"id": "1", "kind": "action", "target": "go", "args": {}}',
        b'{"id": "1", "kind": "action", "target": "go", "args": {}, "expires": 1e999}',
    ],
)
def test_bad_commands_are_rejected(payload: bytes) -> None:
    with pytest.raises(MalformedMessage) as info:
        decode_command(payload)
    assert info.value.code == "bad_command"


def test_hub_status_topic_checks_the_hub_id() -> None:
    assert hub_status_topic("home-hub") == "carhome-hub/home-hub/status"
    with pytest.raises(InvalidName):
        hub_status_topic("Home Hub")
