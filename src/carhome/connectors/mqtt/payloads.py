"""The JSON payloads on carhome's MQTT topics, decoded into typed values at the edge.

Each ``decode_*`` takes the raw bytes of one message and returns a typed value, or raises
``MalformedMessage`` naming what was wrong; no other error escapes, whatever the bytes.
Property values stay as JSON gives them: checking them against the device's spec is the
hub's job (``Hub.report``), value by value, so one bad value does not sink its neighbours.

    state   {"<property>": <value>, …, "ts"?: <epoch seconds>}
    event   {"name": "...", "fields"?: {...}, "ts"?: <epoch seconds>}
    cmd     {"id", "kind": "set"|"action", "target", "args", "expires", "signature"?, "member"?}
    ack     {"id", "status": "acked"|"failed"|"expired", "result"?, "error"?}
    status  online | offline
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import msgspec

from carhome.connectors.mqtt.malformed import MalformedMessage
from carhome.hub.commands import Ack, Command

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"

TS: Final = "ts"

_ECHO: Final = 80


def _check_ts(ts: object) -> float:
    # bool is an int to Python but not a time to anyone; inf passes JSON as 1e999.
    if (type(ts) is int or type(ts) is float) and math.isfinite(ts) and ts >= 0:
        return float(ts)
    raise MalformedMessage(
        "bad_ts", f"'ts' must be a finite number of seconds since the epoch, got {ts!r}"[:200]
    )


def _reason(exc: Exception) -> str:
    return str(exc)[:200]


# -- state ------------------------------------------------------------------------------

_state_decoder: Final = msgspec.json.Decoder(dict[str, Any])


def decode_state(payload: bytes) -> tuple[dict[str, Any], float | None]:
    """The property values of a state message, and its ``ts`` if it had one."""
    try:
        values = _state_decoder.decode(payload)
    except msgspec.ValidationError:
        raise MalformedMessage(
            "malformed_payload", "a state payload must be a JSON object of property → value"
        ) from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage("malformed_payload", f"invalid JSON: {_reason(exc)}") from None
    ts = values.pop(TS, None)
    return values, None if ts is None else _check_ts(ts)


def encode_state(values: dict[str, Any], ts: float | None = None) -> bytes:
    if ts is not None:
        values = {**values, TS: _check_ts(ts)}
    return msgspec.json.encode(values)


# -- event ------------------------------------------------------------------------------


class EventMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An event as a device sent it, before it is checked against the device's spec."""

    name: str
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    ts: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("'name' must not be empty")
        if self.ts is not None:
            try:
                _check_ts(self.ts)
            except MalformedMessage as exc:
                raise ValueError(exc.reason) from None


_event_decoder: Final = msgspec.json.Decoder(EventMessage)


def decode_event(payload: bytes) -> EventMessage:
    try:
        return _event_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise MalformedMessage("bad_event", f"event payload: {_reason(exc)}") from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage("malformed_payload", f"invalid JSON: {_reason(exc)}") from None


def encode_event(name: str, fields: dict[str, Any], ts: float | None = None) -> bytes:
    return msgspec.json.encode(EventMessage(name, fields, ts))


# -- command ----------------------------------------------------------------------------


class CommandMessage(msgspec.Struct, frozen=True, omit_defaults=True):
    """A command on the wire, hub → device: what a device needs to execute it, no more."""

    id: str
    kind: Literal["set", "action"]
    target: str
    args: dict[str, Any]
    expires: float
    signature: str | None = None
    # Only on a signed command: the signature binds the member, so the device must see it.
    member: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("'id' must not be empty")
        if not self.target:
            raise ValueError("'target' must not be empty")
        if not math.isfinite(self.expires):
            raise ValueError("'expires' must be a finite number of seconds since the epoch")
        if self.kind == "set" and set(self.args) != {"value"}:
            raise ValueError("a set command takes exactly one argument, 'value'")

    @classmethod
    def of(cls, command: Command) -> CommandMessage:
        return cls(
            id=command.id,
            kind=command.kind,
            target=command.target,
            args=command.args,
            expires=command.expires,
            signature=command.signature,
            member=command.member if command.signature is not None else None,
        )


_command_decoder: Final = msgspec.json.Decoder(CommandMessage)
_encoder: Final = msgspec.json.Encoder()


def encode_command(command: Command) -> bytes:
    return _encoder.encode(CommandMessage.of(command))


def decode_command(payload: bytes) -> CommandMessage:
    try:
        return _command_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise MalformedMessage("bad_command", f"command payload: {_reason(exc)}") from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage("malformed_payload", f"invalid JSON: {_reason(exc)}") from None


# -- ack --------------------------------------------------------------------------------

_ack_decoder: Final = msgspec.json.Decoder(Ack)


def decode_ack(payload: bytes) -> Ack:
    try:
        ack = _ack_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise MalformedMessage("bad_ack", f"ack payload: {_reason(exc)}") from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage("malformed_payload", f"invalid JSON: {_reason(exc)}") from None
    if not ack.id:
        raise MalformedMessage("bad_ack", "ack payload: 'id' must not be empty")
    return ack


def encode_ack(ack: Ack) -> bytes:
    return _encoder.encode(ack)


# -- status -----------------------------------------------------------------------------


def decode_status(payload: bytes) -> bool:
    """``True`` for ``online``, ``False`` for ``offline``."""
    if payload == ONLINE:
        return True
    if payload == OFFLINE:
        return False
    raise MalformedMessage("bad_status", f"status must be 'online' or 'offline', got {payload[:_ECHO]!r}")
