"""Signed commands: the fields a signature binds and the signature string itself.

A signed command's ``signature`` field holds one ``Envelope`` (the key id, epoch, counter,
expiry in device-epoch seconds, domain and HMAC-SHA256 tag) encoded as a MessagePack array
and then base64url without padding. The tag covers ``command_transcript``: the domain,
home, device, epoch, expiry, counter, command id, kind, target, canonical arguments, the
member and the hub's wall-clock expiry. HMAC, not AES-GCM: the hub must read a command to
check policy and record it, so confidentiality from the hub buys nothing; integrity and
origin are what the device needs.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final, Literal, Protocol

import msgspec

from carhome.errors import CarhomeError
from carhome.signing.keys import KEY_ID_SIZE
from carhome.signing.session import EPOCH_SIZE, MAX_U32
from carhome.signing.transcript import Layout, Tag, double, u32
from carhome.spec import DeviceSpec

COMMAND_SCHEME: Final = "carhome-cmd-v1"
VERSION: Final = 1
TAG_SIZE: Final = 32
# The longest a signed command may live, on the device's clock; the device may set less.
DEFAULT_MAX_TTL: Final = 300.0
MAX_SIGNATURE_CHARS: Final = 512
NO_DOMAIN: Final = ""

CommandKind = Literal["set", "action"]

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
_ARGS: Final = msgspec.json.Encoder(order="sorted")


class MalformedSignature(CarhomeError, ValueError):
    """A signature string that is not one canonical envelope."""


class CommandFields(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a command a signature binds, as the phone signs them and the device
    verifies them; the hub makes them from its ``Command`` record (the rest of which is
    its own bookkeeping), a device from the command message it received."""

    id: str
    home: str
    device: str
    kind: CommandKind
    target: str
    args: dict[str, Any]
    member: str
    expires: float

    @classmethod
    def received(cls, message: CommandMessage, *, home: str, device: str) -> CommandFields:
        """The fields a device checks a received command's signature against: the
        message's own, addressed to the device's own ``home`` and ``device`` (so a command
        signed for another device fails), and no member read as ``""``."""
        return cls(
            id=message.id,
            home=home,
            device=device,
            kind=message.kind,
            target=message.target,
            args=message.args,
            member=message.member or "",
            expires=message.expires,
        )


class CommandMessage(Protocol):
    """What a device reads of a command message it received (an MQTT command, an OCPP
    signed-command data transfer): all the signed fields but the addressee."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> CommandKind: ...
    @property
    def target(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def member(self) -> str | None: ...
    @property
    def expires(self) -> float: ...


class Envelope(msgspec.Struct, frozen=True, array_like=True):
    """What travels in a command's ``signature``; checked when made and when decoded."""

    v: int
    key_id: bytes
    epoch: bytes
    counter: int
    expires_at: int
    domain: str
    tag: bytes

    def __post_init__(self) -> None:
        if self.v != VERSION:
            raise ValueError(f"signature version {self.v}; this verifier knows {VERSION}")
        if len(self.key_id) != KEY_ID_SIZE or len(self.epoch) != EPOCH_SIZE:
            raise ValueError("key id or epoch has the wrong size")
        if len(self.tag) != TAG_SIZE:
            raise ValueError(f"a tag is {TAG_SIZE} bytes")
        if not (1 <= self.counter <= MAX_U32 and 0 <= self.expires_at <= MAX_U32):
            raise ValueError("counter (from 1) and expiry are unsigned 32-bit integers")

    def encode(self) -> str:
        return _b64(msgspec.msgpack.encode(self))

    @classmethod
    def decode(cls, text: str) -> Envelope:
        """The envelope in ``text``; ``MalformedSignature`` unless ``text`` is exactly the
        canonical encoding of a valid envelope (so no two strings mean the same one)."""
        if len(text) > MAX_SIGNATURE_CHARS or not _B64URL.fullmatch(text):
            raise MalformedSignature("not a base64url string of a plausible length")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            envelope = msgspec.msgpack.decode(raw, type=cls)
        except (binascii.Error, UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedSignature(str(exc)) from None
        # one envelope, one string: no other MessagePack or base64 spelling of it passes
        if msgspec.msgpack.encode(envelope) != raw or _b64(raw) != text:
            raise MalformedSignature("not the canonical encoding of its envelope")
        return envelope


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def domain_of(spec: DeviceSpec, kind: CommandKind, target: str) -> str | None:
    """The safety-critical domain a command falls in, from the device's spec (``None``
    for ordinary actions, property writes and targets the spec does not have)."""
    if kind != "action":
        return None
    action = spec.actions.get(target)
    return action.domain if action is not None else None


def canonical_args(args: dict[str, Any]) -> bytes:
    """JSON with sorted keys and no spaces. Sign arguments as the device's spec normalises
    them (a float argument as ``21.0``, not ``21``): the hub passes them on unchanged."""
    return _ARGS.encode(args)


def command_transcript(
    fields: CommandFields, *, domain: str, home: str, device: str, epoch: bytes, expires_at: int, counter: int
) -> bytes:
    """The bytes the tag covers. ``home`` and ``device`` are the device's own identity on
    the verifying side, the addressed device on the phone's."""
    return _COMMAND.encode(
        domain,
        home,
        device,
        epoch,
        u32(expires_at),
        u32(counter),
        fields.id,
        fields.kind,
        fields.target,
        canonical_args(fields.args),
        fields.member,
        double(fields.expires),
    )


_COMMAND: Final = Layout(
    COMMAND_SCHEME,
    (
        Tag.DOMAIN,
        Tag.HOME,
        Tag.DEVICE,
        Tag.EPOCH,
        Tag.EXPIRES_AT,
        Tag.COUNTER,
        Tag.COMMAND_ID,
        Tag.KIND,
        Tag.TARGET,
        Tag.ARGS,
        Tag.MEMBER,
        Tag.EXPIRES,
    ),
)
