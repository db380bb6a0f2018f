"""Keys on the wire: the bodies of the hub's key routes that are the hub's own — the
session it opened, a code read off its screen, the delegate key, a command a phone signed,
the long poll on a pending enrollment.

The protocol's messages these carry (a session request and the device's answer, an
enrollment's challenge and request, a revocation, an enrolled key, a pending enrollment)
are ``carhome.signing``'s, checked as they are decoded (a point on the curve, the sizes of
nonces and epochs): one declaration for the phone, the relay, the device and the API.
Bytes travel as base64.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from carhome.signing.enrollment import EnrollmentChallenge
from carhome.signing.session import SessionInfo

MAX_WAIT: Final = 60.0
"""The longest a requester's long poll on its pending request is held."""


# -- the hub's key routes ----------------------------------------------------------------------


class SessionOpened(msgspec.Struct, frozen=True):
    """The device's answer to a session request, and what the phone needs besides to sign."""

    info: SessionInfo
    now: float
    member: str
    type: str


class Code(msgspec.Struct, frozen=True):
    code: str


class DelegateKeyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    domains: tuple[str, ...]


class DelegateKey(msgspec.Struct, frozen=True):
    point: bytes
    member: str


class DelegateRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The owner's approval of the hub's delegate key, with the code read off the device."""

    domains: tuple[str, ...]
    challenge: EnrollmentChallenge
    code: str
    approver: bytes
    approval: bytes


class SignedCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/devices/{home}/{device}/signed-commands``."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    kind: Literal["set", "action"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    expires: float
    member: str
    signature: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    wait: Annotated[float, msgspec.Meta(ge=0, le=300)] | None = None


class PendingWaitQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] = 0.0
