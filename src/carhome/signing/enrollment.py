"""Enrollment: adding a phone's public key to a device's key store.

A key is enrolled only with both
- an owner's approval: an ECDSA signature by an enrolled, enabled owner key over the
  enrollment transcript (home, device, device key, challenge nonce, new key, role, member);
- a presence proof: the new key's own ECDSA signature over the same transcript plus the
  short code the device shows on its screen, which proves the new phone's holder stood at
  the device and holds the private key.

The device (``Enroller``) opens a challenge when someone asks on the device itself: a random
nonce (sent to the phones) and a six-digit code (shown, never sent). The challenge lives two
minutes, allows three attempts, and is spent by a success. A device with no key at all
enrolls its first owner on the presence proof alone, as a car pairs its first key card.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Final

import msgspec

from carhome.clock import Clock
from carhome.errors import CarhomeError
from carhome.names import check_name
from carhome.signing.keys import EnrolledKey, InvalidKey, KeyPair, KeyStore, PublicKey
from carhome.signing.roles import Role
from carhome.signing.session import NONCE_SIZE
from carhome.signing.transcript import Tag, transcript

ENROLL_SCHEME: Final = "carhome-enroll-v1"
PRESENCE_SCHEME: Final = "carhome-presence-v1"
CODE_DIGITS: Final = 6
CHALLENGE_TTL: Final = 120.0
ATTEMPTS: Final = 3


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


class EnrollmentRejected(CarhomeError):
    """A device refused to enroll a key; ``reason`` is a short stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"enrollment refused ({reason}): {message}")
        self.reason = reason


def enrollment_transcript(
    challenge: EnrollmentChallenge, *, new_key: PublicKey, role: Role, member: str
) -> bytes:
    """What the approving owner signs."""
    return transcript(ENROLL_SCHEME, *_fields(challenge, new_key, role, member))


def presence_transcript(
    challenge: EnrollmentChallenge, *, new_key: PublicKey, role: Role, member: str, code: str
) -> bytes:
    """What the new key signs: the same fields and the code read off the device."""
    fields = _fields(challenge, new_key, role, member)
    return transcript(PRESENCE_SCHEME, *fields, (Tag.CODE, code))


def _fields(
    challenge: EnrollmentChallenge, new_key: PublicKey, role: Role, member: str
) -> list[tuple[int, bytes | str]]:
    return [
        (Tag.HOME, challenge.home),
        (Tag.DEVICE, challenge.device),
        (Tag.MEMBER, member),
        (Tag.PHONE_KEY, new_key.point),
        (Tag.DEVICE_KEY, challenge.device_key),
        (Tag.NONCE, challenge.nonce),
        (Tag.ROLE, role.value),
    ]


def approve(
    owner: KeyPair, challenge: EnrollmentChallenge, *, new_key: PublicKey, role: Role, member: str
) -> bytes:
    """The owner's phone: approve ``new_key`` for ``member`` in ``role``."""
    return owner.sign(enrollment_transcript(challenge, new_key=new_key, role=role, member=member))


def request_enrollment(
    new: KeyPair,
    challenge: EnrollmentChallenge,
    *,
    role: Role,
    member: str,
    code: str,
    approver: PublicKey | None = None,
    approval: bytes | None = None,
) -> EnrollmentRequest:
    """The new phone: the request with its presence proof over the code on the device."""
    proof = new.sign(presence_transcript(challenge, new_key=new.public, role=role, member=member, code=code))
    return EnrollmentRequest(
        new_key=new.public.point,
        role=role,
        member=member,
        nonce=challenge.nonce,
        code=code,
        proof=proof,
        approver=approver.key_id if approver else None,
        approval=approval,
    )


class _Open(msgspec.Struct):
    challenge: EnrollmentChallenge
    code: str
    until: float
    attempts: int


class Enroller:
    """The device side of enrollment, over the device's ``KeyStore``."""

    def __init__(
        self,
        *,
        home: str,
        device: str,
        key: KeyPair,
        keys: KeyStore,
        clock: Clock,
        entropy: Callable[[int], bytes] = os.urandom,
        challenge_ttl: float = CHALLENGE_TTL,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.home: Final = check_name("home", home)
        self.device: Final = check_name("device", device)
        self.key: Final = key
        self.keys: Final = keys
        self._clock = clock
        self._entropy = entropy
        self._ttl = challenge_ttl
        self._attempts = attempts
        self._open: _Open | None = None

    def begin(self) -> tuple[EnrollmentChallenge, str]:
        """Open a challenge (replacing any open one); returns it and the code to show."""
        challenge = EnrollmentChallenge(
            home=self.home,
            device=self.device,
            device_key=self.key.public.point,
            nonce=self._entropy(NONCE_SIZE),
        )
        number = int.from_bytes(self._entropy(8), "big") % 10**CODE_DIGITS
        code = f"{number:0{CODE_DIGITS}d}"
        self._open = _Open(challenge, code, self._clock.time() + self._ttl, self._attempts)
        return challenge, code

    def enroll(self, request: EnrollmentRequest) -> EnrolledKey:
        """Check ``request`` and enroll its key, or raise ``EnrollmentRejected``."""
        pending = self._open
        if pending is None:
            raise EnrollmentRejected("no_challenge", "start enrollment on the device first")
        if not hmac.compare_digest(request.nonce, pending.challenge.nonce):
            raise EnrollmentRejected("wrong_challenge", "the request answers another challenge; start again")
        if self._clock.time() >= pending.until:
            self._open = None
            raise EnrollmentRejected("challenge_expired", "the code expired; start again")
        try:
            key = self._check(request, pending)
        except EnrollmentRejected:
            pending.attempts -= 1
            if pending.attempts <= 0:
                self._open = None
            raise
        self._open = None
        self.keys.add(key)
        return key

    def _check(self, request: EnrollmentRequest, pending: _Open) -> EnrolledKey:
        if not hmac.compare_digest(request.code.encode(), pending.code.encode()):
            raise EnrollmentRejected("wrong_code", "the code does not match the one on the device")
        try:
            new_key = PublicKey(request.new_key)
            enrolled = EnrolledKey(point=request.new_key, role=request.role, member=request.member)
        except InvalidKey as exc:
            raise EnrollmentRejected("bad_key", str(exc)) from None
        if self.keys.get(new_key.key_id) is not None:
            raise EnrollmentRejected("already_enrolled", "this key is enrolled already")
        challenge = pending.challenge
        presence = presence_transcript(
            challenge, new_key=new_key, role=request.role, member=request.member, code=request.code
        )
        if not new_key.verify(request.proof, presence):
            raise EnrollmentRejected("bad_proof", "the new key did not sign the presence proof")
        if len(self.keys) == 0 and request.approver is None:
            if request.role is not Role.OWNER:
                raise EnrollmentRejected("first_key_not_owner", "a device's first key is an owner's")
            return enrolled
        self._check_approval(request, challenge, new_key)
        return enrolled

    def _check_approval(
        self, request: EnrollmentRequest, challenge: EnrollmentChallenge, new_key: PublicKey
    ) -> None:
        if request.approver is None or request.approval is None:
            raise EnrollmentRejected("no_approval", "an enrolled owner must approve the new key")
        approver = self.keys.get(request.approver)
        if approver is None:
            raise EnrollmentRejected("unknown_approver", "the approving key is not enrolled here")
        if not approver.enabled:
            raise EnrollmentRejected("approver_disabled", "the approving key is disabled")
        if approver.role is not Role.OWNER:
            raise EnrollmentRejected("approver_not_owner", "only an owner's key may approve")
        transcript = enrollment_transcript(
            challenge, new_key=new_key, role=request.role, member=request.member
        )
        if not approver.public.verify(request.approval, transcript):
            raise EnrollmentRejected("bad_approval", "the owner's approval does not verify")
