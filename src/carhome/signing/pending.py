"""Enrollment requests waiting for an owner's approval from another client.

A device that holds keys enrolls a new one only with an enrolled owner's approval, and that
owner's key lives in another client (the CLI's key file, another browser). The hub keeps
the new key's request here — new key, member, role, the presence proof over the code and
the challenge it answers — until an owner approves or declines it from their own client,
or the device's challenge expires. The hub only holds and relays: the approval is an
ECDSA signature over the enrollment transcript (home, device, member, new key, device key,
nonce, role), which the device checks, so the hub can neither forge nor redirect one.

The list is in memory: a request outlives its challenge by nothing, so a restart loses
only requests whose code the device would have forgotten too (a reboot) or that the
requester can simply ask again.

It is part of the relay, not of the hub's policy: it checks a presence proof (the
protocol's transcript), holds and hands on, and decides nothing a device does not decide
again. Who may ask, list, approve or decline is the API's question to the gatekeeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Final, Literal

import msgspec

from carhome.clock import Clock
from carhome.errors import CarhomeError
from carhome.signing.enrollment import (
    CHALLENGE_TTL,
    EnrollmentChallenge,
    EnrollmentRequest,
    presence_transcript,
)
from carhome.signing.keys import EnrolledKey, InvalidKey, PublicKey
from carhome.signing.roles import Role

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

    @classmethod
    def of(cls, request: EnrollmentRequest, *, device_key: bytes) -> PendingAsk:
        """The ask that leaves ``request`` (made for the challenge naming ``device_key``)
        at the hub; an approval in ``request`` is not carried: an owner adds their own."""
        carried = {name: getattr(request, name) for name in cls.__struct_fields__ if name != "device_key"}
        return cls(**carried, device_key=device_key)

    def request(self) -> EnrollmentRequest:
        """The enrollment request this ask makes of the device: its fields but the device
        key, and no approval yet."""
        return msgspec.convert(self, EnrollmentRequest, from_attributes=True)


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


KEPT_AFTER: Final = 300.0
"""How long a settled request stays readable, so its requester can learn the outcome."""
MAX_PER_DEVICE: Final = 16
"""Open requests a device may have at once: a challenge takes one, the rest is noise."""


class PendingError(CarhomeError):
    """A pending request that cannot be made or settled; ``field`` names what is wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class _Entry:
    def __init__(self, view: Pending, request: EnrollmentRequest) -> None:
        self.view = view
        self.request = request
        self.settled = asyncio.Event()


class PendingEnrollments:
    """The hub's pending requests, per device, in memory.

    ``clock`` is real time (``carhome.clock.real_time``): a request lives as long as the
    device's code, two real minutes, however fast a demo runs its simulated world."""

    def __init__(self, clock: Clock, *, ttl: float = CHALLENGE_TTL) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def add(self, home: str, device: str, ask: PendingAsk, *, asked_by: str) -> Pending:
        """Keep ``ask`` for ``home/device``; ``PendingError`` if its proof does not even
        verify (the device would refuse it: better said now than after an owner signs)."""
        self._prune()
        try:
            new_key = PublicKey(ask.new_key)
        except InvalidKey as exc:
            raise PendingError(str(exc), "new_key") from None
        try:
            PublicKey(ask.device_key)
        except InvalidKey as exc:
            raise PendingError(str(exc), "device_key") from None
        challenge = EnrollmentChallenge(home=home, device=device, device_key=ask.device_key, nonce=ask.nonce)
        presence = presence_transcript(
            challenge, new_key=new_key, role=ask.role, member=ask.member, code=ask.code
        )
        if not new_key.verify(ask.proof, presence):
            raise PendingError(
                "the proof is not the new key's signature over the presence transcript"
                " (this home, device, member, role, nonce, device key and the code on the device)",
                "proof",
            )
        mine = [e for e in self._entries.values() if (e.view.home, e.view.device) == (home, device)]
        if sum(e.view.status == "pending" for e in mine) >= MAX_PER_DEVICE:
            raise PendingError(f"{home}/{device} has {MAX_PER_DEVICE} requests waiting already")
        for entry in mine:
            if entry.view.status == "pending" and entry.view.new_key == ask.new_key:
                raise PendingError(f"this key asked already (request {entry.view.id})", "new_key")
        now = self._clock.time()
        view = Pending(
            id=secrets.token_hex(8),
            home=home,
            device=device,
            member=ask.member,
            role=ask.role,
            new_key=ask.new_key,
            key_id=new_key.key_id,
            challenge=challenge,
            asked_by=asked_by,
            asked=now,
            expires=now + self._ttl,
        )
        self._entries[view.id] = _Entry(view, ask.request())
        return view

    def get(self, home: str, device: str, request_id: str) -> Pending | None:
        entry = self._entry(home, device, request_id)
        return entry.view if entry is not None else None

    def waiting(self, home: str, device: str) -> list[Pending]:
        """The requests of ``home/device`` still waiting, oldest first."""
        self._prune()
        found = [e.view for e in self._entries.values() if (e.view.home, e.view.device) == (home, device)]
        return sorted((v for v in found if v.status == "pending"), key=lambda v: v.asked)

    def approved(
        self, home: str, device: str, request_id: str, approval: PendingApproval
    ) -> EnrollmentRequest:
        """The full request to send the device: the kept proof and ``approval``."""
        entry = self._open(home, device, request_id)
        return msgspec.structs.replace(entry.request, approver=approval.approver, approval=approval.approval)

    def settle(
        self,
        home: str,
        device: str,
        request_id: str,
        status: Status,
        *,
        by: str,
        reason: str = "",
        key: EnrolledKey | None = None,
        anyway: bool = False,
    ) -> Pending:
        """Close a waiting request with its outcome and wake whoever waits on it; with
        ``anyway``, also one that expired or was settled meanwhile (the device's answer to
        an approval already sent is the last word)."""
        entry = self._entry(home, device, request_id) if anyway else self._open(home, device, request_id)
        if entry is None:
            raise PendingError(f"no request {request_id!r} on {home}/{device}", "id")
        entry.view = msgspec.structs.replace(entry.view, status=status, reason=reason, decided_by=by, key=key)
        entry.settled.set()
        return entry.view

    async def wait(self, home: str, device: str, request_id: str, seconds: float) -> Pending | None:
        """The request once settled, or as it is after ``seconds`` (a long poll)."""
        entry = self._entry(home, device, request_id)
        if entry is None:
            return None
        if entry.view.status == "pending" and seconds > 0:
            left = max(entry.view.expires - self._clock.time(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.settled.wait(), min(seconds, left))
        return self.get(home, device, request_id)

    def _open(self, home: str, device: str, request_id: str) -> _Entry:
        entry = self._entry(home, device, request_id)
        if entry is None:
            raise PendingError(f"no request {request_id!r} on {home}/{device}", "id")
        if entry.view.status != "pending":
            raise PendingError(f"request {request_id} is {entry.view.status} already", "id")
        return entry

    def _entry(self, home: str, device: str, request_id: str) -> _Entry | None:
        self._prune()
        entry = self._entries.get(request_id)
        if entry is None or (entry.view.home, entry.view.device) != (home, device):
            return None
        return entry

    def _prune(self) -> None:
        """Expire requests whose challenge is over; forget settled ones after a while."""
        now = self._clock.time()
        for key, entry in list(self._entries.items()):
            view = entry.view
            if view.status == "pending" and now >= view.expires:
                entry.view = msgspec.structs.replace(view, status="expired", reason="challenge_expired")
                entry.settled.set()
            elif view.status != "pending" and now >= view.expires + KEPT_AFTER:
                del self._entries[key]
