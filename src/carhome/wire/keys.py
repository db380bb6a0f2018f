"""Keys on the wire: the signing protocol's messages the hub relays, pending enrollments,
the delegate key, and commands a phone signed.

The protocol's messages (a session request and the device's answer, an enrollment's
challenge and request, a revocation, an enrolled key) are declared here as the fields that
travel; ``carhome.access`` re-uses them, adding the checks that need cryptography (a point
on the curve, the sizes of nonces and epochs) as subclasses — what a face decodes at its
edge. Bytes travel as base64.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from carhome.wire.members import Role

MAX_WAIT: Final = 60.0
"""The longest a requester's long poll on its pending request is held."""


# -- the signing protocol's messages --------------------------------------------------------


class SessionRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Phone → device: open a session for this key; ``nonce`` keeps the answer fresh."""

    phone_key: bytes
    nonce: bytes


class SessionInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Device → phone: the epoch, the device's epoch clock and the last counter, tagged."""

    home: str
    device: str
    device_key: bytes
    epoch: bytes
    clock: int
    counter: int
    tag: bytes


class EnrollmentChallenge(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the device tells the phones about an open enrollment (never the code)."""

    home: str
    device: str
    device_key: bytes
    nonce: bytes


class EnrollmentRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """New phone → device. ``approver`` is the approving owner's key id (none for the first
    owner of a device with no keys)."""

    new_key: bytes
    role: Role
    member: str
    nonce: bytes
    code: str
    proof: bytes
    approver: bytes | None = None
    approval: bytes | None = None


class EnrolledKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One public key enrolled on a device."""

    point: bytes
    role: Role
    member: str
    enabled: bool = True


class Revocation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Owner → device: disable ``point`` (``approver`` is the owner's key id)."""

    point: bytes
    approver: bytes
    approval: bytes


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


# -- enrollments waiting for an owner ------------------------------------------------------------

Status = Literal["pending", "enrolled", "declined", "refused", "expired"]


class PendingAsk(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/keys/{home}/{device}/pending``: an enrollment request with no
    approval yet, and the device key of the challenge it answers (from ``begin``)."""

    new_key: bytes
    role: Role
    member: str
    nonce: bytes
    device_key: bytes
    code: str
    proof: bytes


class PendingApproval(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST …/pending/{id}/approve``: the owner key's id and its signature over
    the enrollment transcript (``carhome.signing.enrollment.approve``)."""

    approver: bytes
    approval: bytes


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    """A request as owners and its requester see it (never the code or the proof).

    ``challenge`` is what an approving owner signs over, after checking its ``device_key``
    against the one their client pinned. ``key`` is the enrolled key once ``enrolled``;
    ``reason`` the device's refusal code once ``refused``.
    """

    id: str
    home: str
    device: str
    member: str
    role: Role
    new_key: bytes
    key_id: bytes
    challenge: EnrollmentChallenge
    asked_by: str
    asked: float
    expires: float
    status: Status = "pending"
    reason: str = ""
    decided_by: str = ""
    key: EnrolledKey | None = None


class PendingWaitQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] = 0.0
