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
    resend  {"reason"?: "..."}   (hub → device: publish every property again, each with its ts)

Every JSON payload is decoded by ``decode_json``, the one bounded decoder of this edge: a
payload nested deeper than ``carhome.nesting.MAX_DEPTH`` is refused (``too_deep``), whether
msgspec's own recursion guard stops it or the depth check after it. The hub's connector
refuses a payload larger than its ``max_payload`` (``MAX_PAYLOAD`` unless configured) before
any of these sees it (``too_large``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

import msgspec

from carhome.hub.commands import Ack, Command
from carhome.mqtt.malformed import MalformedMessage
from carhome.nesting import MAX_DEPTH, deeper_than

MAX_PAYLOAD: Final = 64 * 1024
"""The largest payload, in bytes, the hub decodes unless configured otherwise: a state
message of every property of the largest device spec is a few kilobytes."""

_T = TypeVar("_T")

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


def decode_json(
    decoder: msgspec.json.Decoder[_T], payload: bytes, *, code: str, invalid: Callable[[str], str]
) -> _T:
    """``payload`` decoded by ``decoder``, or ``MalformedMessage``: ``code`` with
    ``invalid(reason)`` when it is JSON of the wrong shape, ``malformed_payload`` when it is
    not JSON, ``too_deep`` when it nests deeper than ``MAX_DEPTH``."""
    try:
        value = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(code, invalid(_reason(exc))) from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage("malformed_payload", f"invalid JSON: {_reason(exc)}") from None
    except RecursionError:  # deeper than msgspec goes
        raise _too_deep() from None
    # A payload of no more bytes than MAX_DEPTH cannot open more containers than that:
    # most messages (a state of a value or two) never pay for the count.
    if len(payload) > MAX_DEPTH and deeper_than(payload, value):
        raise _too_deep()
    return value


def _too_deep() -> MalformedMessage:
    return MalformedMessage("too_deep", f"the JSON nests deeper than {MAX_DEPTH} levels")


# -- state ------------------------------------------------------------------------------

_state_decoder: Final = msgspec.json.Decoder(dict[str, Any])


def _not_a_state(_: str) -> str:
    return "a state payload must be a JSON object of property → value"


def decode_state(payload: bytes) -> tuple[dict[str, Any], float | None]:
    """The property values of a state message, and its ``ts`` if it had one."""
    values = decode_json(_state_decoder, payload, code="malformed_payload", invalid=_not_a_state)
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
    return decode_json(_event_decoder, payload, code="bad_event", invalid=lambda r: f"event payload: {r}")


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
    return decode_json(
        _command_decoder, payload, code="bad_command", invalid=lambda r: f"command payload: {r}"
    )


# -- ack --------------------------------------------------------------------------------

_ack_decoder: Final = msgspec.json.Decoder(Ack)


def decode_ack(payload: bytes) -> Ack:
    ack = decode_json(_ack_decoder, payload, code="bad_ack", invalid=lambda r: f"ack payload: {r}")
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


# -- resend -----------------------------------------------------------------------------


class ResendMessage(msgspec.Struct, frozen=True):
    """An ask, hub → device, to publish its whole current state and its status again
    (``carhome.fleet.republish``). Fields a newer hub adds are ignored."""

    reason: str = ""
    """Why it is asked (``takeover``, ``leader``): for the device's log only."""


_resend_decoder: Final = msgspec.json.Decoder(ResendMessage)


def decode_resend(payload: bytes) -> ResendMessage:
    return decode_json(_resend_decoder, payload, code="bad_resend", invalid=lambda r: f"resend payload: {r}")


def encode_resend(reason: str = "") -> bytes:
    return _encoder.encode(ResendMessage(reason))
