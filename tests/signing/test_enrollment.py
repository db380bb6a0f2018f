"""Enrollment: an owner's approval and a presence proof, or no new key."""

from __future__ import annotations

import msgspec
import pytest
from signing_rig import T0, entropy

from carhome.errors import CarhomeError
from carhome.signing import (
    Enroller,
    EnrollmentRejected,
    EnrollmentRequest,
    KeyPair,
    KeyStore,
    Role,
    approve,
    request_enrollment,
)
from carhome.signing.pending import PendingAsk
from carhome.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def enroller(clock: FakeClock) -> Enroller:
    return Enroller(
        home="h1", device="car", key=KeyPair.generate(), keys=KeyStore(), clock=clock, entropy=entropy(3)
    )


def enroll_owner(enroller: Enroller) -> KeyPair:
    owner = KeyPair.generate()
    challenge, code = enroller.begin()
    enroller.enroll(request_enrollment(owner, challenge, role=Role.OWNER, member="ana", code=code))
    return owner


def test_first_owner_on_presence_alone_then_owner_approval(enroller: Enroller) -> None:
    owner = enroll_owner(enroller)
    challenge, code = enroller.begin()
    assert len(code) == 6
    assert code.isdigit()
    bo = KeyPair.generate()
    approval = approve(owner, challenge, new_key=bo.public, role=Role.FAMILY, member="bo")
    key = enroller.enroll(
        request_enrollment(
            bo, challenge, role=Role.FAMILY, member="bo", code=code, approver=owner.public, approval=approval
        )
    )
    assert (key.role, key.member, key.enabled) == (Role.FAMILY, "bo", True)
    assert [k.member for k in enroller.keys] == ["ana", "bo"]


def test_first_key_must_be_an_owner(enroller: Enroller) -> None:
    challenge, code = enroller.begin()
    with pytest.raises(EnrollmentRejected) as rejected:
        enroller.enroll(
            request_enrollment(KeyPair.generate(), challenge, role=Role.GUEST, member="eve", code=code)
        )
    assert rejected.value.reason == "first_key_not_owner"


def rejected_reason(enroller: Enroller, request: object) -> str:
    with pytest.raises(EnrollmentRejected) as rejected:
        enroller.enroll(request)  # type: ignore[arg-type]
    assert isinstance(rejected.value, CarhomeError)
    return rejected.value.reason


def test_every_missing_or_wrong_part_is_refused(enroller: Enroller, clock: FakeClock) -> None:
    owner = enroll_owner(enroller)
    family = KeyPair.generate()

    def family_asks() -> EnrollmentRequest:
        """Bo's key asks to join as family, with the owner's approval, on a new challenge."""
        challenge, code = enroller.begin()
        approval = approve(owner, challenge, new_key=family.public, role=Role.FAMILY, member="bo")
        return request_enrollment(
            family,
            challenge,
            role=Role.FAMILY,
            member="bo",
            code=code,
            approver=owner.public,
            approval=approval,
        )

    enroller.enroll(family_asks())
    new = KeyPair.generate()

    def attempt(**override: object) -> str:
        challenge, code = enroller.begin()
        approval = approve(owner, challenge, new_key=new.public, role=Role.GUEST, member="cy")
        request = request_enrollment(
            new, challenge, role=Role.GUEST, member="cy", code=code, approver=owner.public, approval=approval
        )
        return rejected_reason(enroller, msgspec.structs.replace(request, **override))

    wrong_code = "000000"
    assert attempt(code=wrong_code) == "wrong_code"
    assert attempt(approval=None) == "no_approval"
    assert attempt(approver=None) == "no_approval"
    assert attempt(approver=b"\x00" * 16) == "unknown_approver"
    assert attempt(approver=family.public.key_id) == "approver_not_owner"
    assert attempt(role=Role.OWNER) == "bad_proof"  # the new key signed another role
    assert attempt(member="mallory") == "bad_proof"
    assert attempt(proof=KeyPair.generate().sign(b"x")) == "bad_proof"
    assert attempt(new_key=KeyPair.generate().public.point) == "bad_proof"
    assert attempt(new_key=b"\x04" + b"\x01" * 64) == "bad_key"
    assert attempt(nonce=b"\x00" * 16) == "wrong_challenge"
    # an approval for one key does not enroll another holding its own proof
    other = KeyPair.generate()
    challenge, code = enroller.begin()
    approval = approve(owner, challenge, new_key=new.public, role=Role.GUEST, member="cy")
    swapped = request_enrollment(
        other, challenge, role=Role.GUEST, member="cy", code=code, approver=owner.public, approval=approval
    )
    assert rejected_reason(enroller, swapped) == "bad_approval"
    # a disabled owner approves nothing
    enroller.keys.disable(owner.public.key_id)
    assert attempt() == "approver_disabled"
    enroller.keys.enable(owner.public.key_id)
    # already enrolled
    assert rejected_reason(enroller, family_asks()) == "already_enrolled"
    assert len(enroller.keys) == 2


def test_challenge_lifetime_attempts_and_single_use(enroller: Enroller, clock: FakeClock) -> None:
    owner = enroll_owner(enroller)
    new = KeyPair.generate()

    def request(challenge: object, code: str) -> object:
        return request_enrollment(
            new,
            challenge,
            role=Role.GUEST,
            member="cy",
            code=code,
            approver=owner.public,  # type: ignore[arg-type]
            approval=approve(owner, challenge, new_key=new.public, role=Role.GUEST, member="cy"),
        )  # type: ignore[arg-type]

    # expired
    challenge, code = enroller.begin()
    clock.set(T0 + 121)
    assert rejected_reason(enroller, request(challenge, code)) == "challenge_expired"
    assert rejected_reason(enroller, request(challenge, code)) == "no_challenge"
    # three wrong codes close the challenge, even before the right one comes
    challenge, code = enroller.begin()
    for _ in range(3):
        assert (
            rejected_reason(enroller, request(challenge, "999999" if code != "999999" else "111111"))
            == "wrong_code"
        )
    assert rejected_reason(enroller, request(challenge, code)) == "no_challenge"
    # a success spends the challenge: the same request again finds none
    challenge, code = enroller.begin()
    good = request(challenge, code)
    enroller.enroll(good)  # type: ignore[arg-type]
    assert rejected_reason(enroller, good) == "no_challenge"


def test_an_ask_left_at_the_hub_reaches_the_device_as_the_phone_made_it(enroller: Enroller) -> None:
    enroll_owner(enroller)
    challenge, code = enroller.begin()
    bo = KeyPair.generate()
    made = request_enrollment(bo, challenge, role=Role.FAMILY, member="bo", code=code)
    ask = PendingAsk.of(made, device_key=challenge.device_key)
    assert ask.device_key == challenge.device_key
    assert ask.request() == made
    # what an owner approves later is the owner's to add: an approval in the request is not carried
    approved = msgspec.structs.replace(made, approver=b"k" * 8, approval=b"a" * 64)
    assert PendingAsk.of(approved, device_key=challenge.device_key).request() == made
