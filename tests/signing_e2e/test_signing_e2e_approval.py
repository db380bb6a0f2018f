"""Enrolling a second key with an owner's approval given from another client: the new
key's client leaves its request at the hub, an owner lists and approves (or declines) it
from their own client, the hub relays and the device judges."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.keyroutes import key_routes
from carhome.hub.commands import CommandStatus, Decision
from carhome.signing import KeyPair, Role
from carhome.signing.enrollment import CHALLENGE_TTL, EnrollmentChallenge
from carhome.signing.pending import Pending, PendingAsk
from carhome.signing.relay import KeyRefused
from carhome.wire.keyclient import Phone
from carhome.wire.problems import ApiError
from key_app import key_app
from key_app import phone as key_phone

from .conftest import H, Rig

OWNERS = {"ana"}
GARAGE = "garage_door"


class Approvals:
    """The rig's relay behind key routes that know owners (``ana``) and keep an audit."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.audit = AuditLog(MemoryAuditStore(), rig.clock)

        async def authorize(member: str, home: str) -> Decision:
            if member in OWNERS:
                return Decision(True, "owner")
            return Decision(False, f"{member} is not an owner of {home}")

        app = key_app(
            key_routes(
                rig.hub,
                rig.connector,
                who=lambda request: request.headers.get("x-member", "ana"),
                authorize=authorize,
                audit=self.audit,
            )
        )
        self.transport = httpx.ASGITransport(app=app)

    def phone(self, name: str, member: str) -> Phone:
        """A client (key directory ``name``) logged in as ``member``."""
        return key_phone(self.rig.tmp / "clients" / name, self.transport, member)

    def http(self, member: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, base_url="http://hub", headers={"x-member": member}
        )

    async def first_owner(self) -> Phone:
        ana = self.phone("ana-cli", "ana")
        challenge = await ana.begin(H, GARAGE)
        await ana.enroll(challenge, code=self.rig.device(GARAGE).screen, role=Role.OWNER, member="ana")
        return ana

    async def ask(self, phone: Phone, owner: Phone, *, member: str, role: Role = Role.FAMILY) -> Pending:
        challenge = await owner.begin(H, GARAGE)
        return await phone.ask(challenge, code=self.rig.device(GARAGE).screen, role=role, member=member)


def ask_body(key: KeyPair, challenge: EnrollmentChallenge, *, member: str, code: str, proof: bytes) -> bytes:
    """The body a client posts to leave a request for ``key`` (role family) at the hub."""
    ask = PendingAsk(
        new_key=key.public.point,
        role=Role.FAMILY,
        member=member,
        nonce=challenge.nonce,
        device_key=challenge.device_key,
        code=code,
        proof=proof,
    )
    return msgspec.json.encode(ask)


@pytest.fixture
def approvals(rig: Rig) -> Approvals:
    return Approvals(rig)


async def test_an_owner_approves_a_request_from_another_client(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    assert asked.status == "pending"
    assert asked.key_id == bob.ring.key().public.key_id

    listed = await ana.hub.pending(H, GARAGE)
    assert [p.id for p in listed] == [asked.id]
    assert listed[0].member == "bob"

    approved = await ana.approve_request(listed[0])
    assert approved.status == "enrolled"
    assert approved.key is not None
    assert approved.key.member == "bob"
    assert approved.decided_by == "ana"

    # the requester learns the device's answer, pins the device's key and can sign
    settled = await bob.outcome(asked)
    assert settled.status == "enrolled"
    assert bob.ring.pinned(H, GARAGE) is not None
    command = await bob.send(H, GARAGE, "action", "open", wait=10)
    assert command.status is CommandStatus.ACKED, command.error
    assert await ana.hub.pending(H, GARAGE) == []

    entries = await approvals.audit.entries()
    assert [(e.target, e.member, e.decision) for e in entries] == [
        ("enroll:request", "bob", "allowed"),
        ("enroll:approve", "ana", "allowed"),
    ]
    assert (await approvals.audit.verify()).ok


async def test_a_declined_request_is_not_enrolled(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    declined = await ana.hub.decline_pending(H, GARAGE, asked.id)
    assert declined.status == "declined"
    assert (await bob.outcome(asked)).status == "declined"
    assert bob.ring.pinned(H, GARAGE) is None
    assert [k.member for k in await ana.hub.keys(H, GARAGE)] == ["ana"]
    with pytest.raises(ApiError) as gone:
        await ana.approve_request(declined)
    assert gone.value.status == 404
    entries = await approvals.audit.entries()
    assert [(e.target, e.decision) for e in entries] == [
        ("enroll:request", "allowed"),
        ("enroll:decline", "denied"),
    ]


async def test_a_request_expires_with_its_challenge(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    await approvals.rig.clock.advance(CHALLENGE_TTL)
    assert await ana.hub.pending(H, GARAGE) == []
    expired = await bob.hub.pending_one(H, GARAGE, asked.id)
    assert (expired.status, expired.reason) == ("expired", "challenge_expired")
    with pytest.raises(ApiError) as late:
        await ana.approve_request(asked)
    assert late.value.status == 404


async def test_a_non_owner_cannot_list_approve_or_decline(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    async with approvals.http("bob") as http:
        listing = await http.get(f"/api/keys/{H}/{GARAGE}/pending")
        body = {"approver": b"x" * 32, "approval": b"y"}
        approve = await http.post(
            f"/api/keys/{H}/{GARAGE}/pending/{asked.id}/approve", content=msgspec.json.encode(body)
        )
        decline = await http.post(f"/api/keys/{H}/{GARAGE}/pending/{asked.id}/decline")
        # the requester may read their own request, not someone else's
        own = await http.get(f"/api/keys/{H}/{GARAGE}/pending/{asked.id}")
    assert [listing.status_code, approve.status_code, decline.status_code] == [403, 403, 403]
    assert own.status_code == 200
    carol = approvals.phone("carol-phone", "carol")
    with pytest.raises(ApiError) as other:
        await carol.hub.pending_one(H, GARAGE, asked.id)
    assert other.value.status == 403
    assert (await ana.hub.pending(H, GARAGE))[0].status == "pending"


async def test_a_member_may_ask_only_for_themselves(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    with pytest.raises(ApiError) as wrong:
        await approvals.ask(bob, ana, member="carol")
    assert wrong.value.status == 403
    async with approvals.http("bob") as http:
        challenge = await ana.begin(H, GARAGE)
        body = ask_body(bob.ring.key(), challenge, member="carol", code="000000", proof=b"p")
        answer = await http.post(f"/api/keys/{H}/{GARAGE}/pending", content=body)
    assert answer.status_code == 403
    assert answer.json()["field"] == "$.member"
    # an owner may ask for anyone (a family member's phone held by the owner)
    assert (await approvals.ask(approvals.phone("dan-phone", "ana"), ana, member="dan")).member == "dan"
    assert [(e.target, e.member) for e in await approvals.audit.entries()] == [("enroll:request", "ana")]


async def test_a_request_whose_proof_does_not_verify_is_refused_naming_the_field(
    approvals: Approvals,
) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    challenge = await ana.begin(H, GARAGE)
    key = bob.ring.key()
    body = ask_body(key, challenge, member="bob", code="123456", proof=key.sign(b"something else"))
    async with approvals.http("bob") as http:
        bad_proof = await http.post(f"/api/keys/{H}/{GARAGE}/pending", content=body)
        missing = {"new_key": key.public.point, "role": "family", "member": "bob"}
        incomplete = await http.post(f"/api/keys/{H}/{GARAGE}/pending", content=msgspec.json.encode(missing))
    assert (bad_proof.status_code, bad_proof.json()["field"]) == (422, "$.proof")
    assert incomplete.status_code == 422
    assert "nonce" in incomplete.json()["detail"]
    assert await ana.hub.pending(H, GARAGE) == []


async def test_a_forged_approval_is_refused_by_the_device(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    # the hub (or anyone) signs with a key of its own, naming ana's key as the approver
    forger = approvals.phone("forger", "ana")
    forged = forger.approve(asked.challenge, asked.new_key, role=asked.role, member=asked.member)
    body = {"approver": ana.ring.key().public.key_id, "approval": forged}
    with pytest.raises(ApiError) as refused:
        await ana.hub.approve_pending(H, GARAGE, asked.id, body)
    assert refused.value.reason == "bad_approval"
    assert (await bob.outcome(asked)).status == "refused"
    assert [k.member for k in await ana.hub.keys(H, GARAGE)] == ["ana"]
    # ana's true approval of the same request for another role does not verify either
    asked = await approvals.ask(bob, ana, member="bob")
    promoted = ana.approve(asked.challenge, asked.new_key, role=Role.OWNER, member="bob")
    body = {"approver": ana.ring.key().public.key_id, "approval": promoted}
    with pytest.raises(ApiError) as redirected:
        await ana.hub.approve_pending(H, GARAGE, asked.id, body)
    assert redirected.value.reason == "bad_approval"
    audit = [(e.target, e.decision) for e in await approvals.audit.entries()]
    assert audit.count(("enroll:approve", "denied")) == 2


async def test_an_owner_does_not_approve_for_a_device_key_it_did_not_pin(approvals: Approvals) -> None:
    ana = await approvals.first_owner()
    bob = approvals.phone("bob-phone", "bob")
    asked = await approvals.ask(bob, ana, member="bob")
    swapped = msgspec.structs.replace(
        asked, challenge=msgspec.structs.replace(asked.challenge, device_key=bob.ring.key().public.point)
    )
    with pytest.raises(KeyRefused) as mismatch:
        await ana.approve_request(swapped)
    assert mismatch.value.reason == "device_key_mismatch"
    assert (await ana.hub.pending(H, GARAGE))[0].status == "pending"
