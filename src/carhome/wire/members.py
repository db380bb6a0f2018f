"""Members, guest grants and the audit log on the wire.

``Role`` is what a member (and a key's holder) is to the home (declared in
``carhome.signing.roles``: a key's role is signed into its enrollment). ``Grant`` and
``AuditEntry`` are the records the access part keeps (``carhome.access.members.Grant``
adds the checks and the policy questions to these fields; ``carhome.access.audit``
writes the entries).
A member record crosses the wire without its password hash.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from carhome.signing.roles import Role

__all__ = [
    "AuditEntry",
    "AuditOut",
    "AuditQuery",
    "Grant",
    "Limit",
    "MemberOut",
    "NewGrant",
    "NewMember",
    "Role",
    "Verdict",
]

Limit = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class Grant(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a guest may do: ``targets`` on ``devices`` in ``[starts, ends)``, ``uses`` times."""

    id: str
    devices: tuple[str, ...]
    targets: tuple[str, ...]
    starts: float
    ends: float
    uses: int | None = None
    used: int = 0


Verdict = Literal["allowed", "denied"]


class AuditEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    seq: int
    time: float
    home: str
    member: str
    face: str
    command: str
    device: str
    target: str
    decision: Verdict
    reason: str
    prev: str
    hash: str


class MemberOut(msgspec.Struct, frozen=True):
    id: str
    home: str
    name: str
    role: str
    revoked: bool
    has_password: bool
    grants: tuple[Grant, ...]


class NewMember(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    name: str
    role: Role
    password: str | None = None


class NewGrant(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    devices: tuple[str, ...]
    targets: tuple[str, ...]
    starts: float
    ends: float
    uses: int | None = None


class AuditQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limit: Limit = 100


class AuditOut(msgspec.Struct, frozen=True):
    entries: tuple[AuditEntry, ...]
    intact: bool
    checked: int
    problem: str | None = None
