"""The phone side, high level: a key ring on disk and a client of the hub's key routes.

A phone (or the CLI acting as one) keeps, in one directory, its P-256 key (``key.pem``,
mode 0600, never overwritten) and the device keys it pinned when it enrolled
(``pins.json``). ``Phone`` opens a session with a device through the hub's key routes
(``carhome.access.keyroutes``, reached by ``HubKeys``, an ``carhome.wire.client.ApiClient``),
checks the answer against the pinned device key, and signs; the hub only relays.
``Phone.send`` signs a command with an id and expiry the phone chose and submits it; the
device runs it only if the signature verifies.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
import msgspec

from carhome.errors import CarhomeError
from carhome.files import write_atomically
from carhome.hub.commands import Command
from carhome.signing.enrollment import EnrollmentChallenge, EnrollmentRequest, approve, request_enrollment
from carhome.signing.envelope import CommandFields, CommandKind, domain_of
from carhome.signing.keeper import Revocation, approve_revocation
from carhome.signing.keys import EnrolledKey, InvalidKey, KeyPair, PublicKey
from carhome.signing.pending import Pending, PendingApproval, PendingAsk
from carhome.signing.phone import PhoneSession, session_request
from carhome.signing.relay import KeyRefused
from carhome.signing.roles import Role
from carhome.signing.session import SessionRequest
from carhome.spec import SPECS
from carhome.wire import keys as wire
from carhome.wire.client import ApiClient

KEY_FILE: Final = "key.pem"
PINS_FILE: Final = "pins.json"

_T = TypeVar("_T")


class Pin(msgspec.Struct, frozen=True):
    """A device's key as the phone saw it when it enrolled there."""

    device_key: bytes
    member: str
    role: Role


class KeyRing:
    """A phone's key and its pinned devices, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_FILE

    def create(self) -> KeyPair:
        """Make this phone's key (``InvalidKey`` if one exists: a key is never replaced)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = KeyPair.generate()
        key.save(self.key_path)
        return key

    def key(self) -> KeyPair:
        if not self.key_path.exists():
            raise InvalidKey(f"no key in {self.directory}; make one with `carhome keys new`")
        return KeyPair.load(self.key_path)

    def pins(self) -> dict[str, Pin]:
        path = self.directory / PINS_FILE
        if not path.exists():
            return {}
        return msgspec.json.decode(path.read_bytes(), type=dict[str, Pin])

    def pinned(self, home: str, device: str) -> Pin | None:
        return self.pins().get(f"{home}/{device}")

    def pin(self, home: str, device: str, pin: Pin) -> None:
        pins = self.pins()
        pins[f"{home}/{device}"] = pin
        write_atomically(self.directory / PINS_FILE, msgspec.json.format(msgspec.json.encode(pins)))


class HubKeys(ApiClient):
    """The hub's key routes over HTTP (``carhome.wire.client``: a refusal is an ``ApiError``
    whose ``reason`` is the device's code, an unreachable hub a ``ConnectorError``)."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> None:
        super().__init__(url, transport=transport, headers=headers, timeout=timeout)

    def _base(self, home: str, device: str) -> str:
        return f"/api/keys/{home}/{device}"

    async def session(self, home: str, device: str, request: SessionRequest) -> wire.SessionOpened:
        return await self.call(
            "POST", f"{self._base(home, device)}/session", wire.SessionOpened, body=request
        )

    async def begin(self, home: str, device: str) -> EnrollmentChallenge:
        return await self.call("POST", f"{self._base(home, device)}/begin", EnrollmentChallenge)

    async def enroll(self, home: str, device: str, request: EnrollmentRequest) -> EnrolledKey:
        return await self.call("POST", f"{self._base(home, device)}/enroll", EnrolledKey, body=request)

    async def keys(self, home: str, device: str) -> tuple[EnrolledKey, ...]:
        return await self.call("GET", self._base(home, device), tuple[EnrolledKey, ...])

    async def revoke(self, home: str, device: str, revocation: Revocation) -> EnrolledKey:
        return await self.call("POST", f"{self._base(home, device)}/revoke", EnrolledKey, body=revocation)

    async def code(self, home: str, device: str) -> str:
        return (await self.call("GET", f"{self._base(home, device)}/code", wire.Code)).code

    async def delegate_key(self, home: str, device: str, domains: tuple[str, ...]) -> wire.DelegateKey:
        body = wire.DelegateKeyRequest(domains)
        return await self.call(
            "POST", f"{self._base(home, device)}/delegate/key", wire.DelegateKey, body=body
        )

    async def delegate(self, home: str, device: str, body: wire.DelegateRequest) -> EnrolledKey:
        return await self.call("POST", f"{self._base(home, device)}/delegate", EnrolledKey, body=body)

    async def ask(self, home: str, device: str, body: PendingAsk) -> Pending:
        return await self.call("POST", f"{self._base(home, device)}/pending", Pending, body=body)

    async def pending(self, home: str, device: str) -> list[Pending]:
        return await self.call("GET", f"{self._base(home, device)}/pending", list[Pending])

    async def pending_one(self, home: str, device: str, request_id: str, *, wait: float = 0.0) -> Pending:
        path = f"{self._base(home, device)}/pending/{request_id}"
        return await self.call("GET", path, Pending, params={"wait": f"{wait:g}"}, wait=wait or None)

    async def approve_pending(
        self, home: str, device: str, request_id: str, body: PendingApproval
    ) -> Pending:
        path = f"{self._base(home, device)}/pending/{request_id}/approve"
        return await self.call("POST", path, Pending, body=body)

    async def decline_pending(self, home: str, device: str, request_id: str) -> Pending:
        return await self.call("POST", f"{self._base(home, device)}/pending/{request_id}/decline", Pending)

    async def submit(self, home: str, device: str, body: dict[str, Any]) -> Command:
        wait = body.get("wait")
        return await self.call(
            "POST",
            f"/api/devices/{home}/{device}/signed-commands",
            Command,
            body=body,
            wait=float(wait) if wait else None,
        )


class Phone:
    """One phone: its key ring and the hub it reaches devices through."""

    def __init__(self, ring: KeyRing, hub: HubKeys) -> None:
        self.ring = ring
        self.hub = hub
        # The last session per device. Each command still asks for a fresh session (which
        # tells the current epoch), but within one epoch the kept session's counter runs
        # ahead of the device's, so commands signed before any was delivered never share one.
        self._sessions: dict[tuple[str, str], PhoneSession] = {}

    async def begin(self, home: str, device: str) -> EnrollmentChallenge:
        """Open an enrollment on the device (an owner's request; the device shows a code)."""
        return await self.hub.begin(home, device)

    def approve(self, challenge: EnrollmentChallenge, new_key: bytes, *, role: Role, member: str) -> bytes:
        """As an owner: approve ``new_key`` on the challenged device."""
        return approve(self.ring.key(), challenge, new_key=PublicKey(new_key), role=role, member=member)

    async def enroll(
        self,
        challenge: EnrollmentChallenge,
        *,
        code: str,
        role: Role,
        member: str,
        approver: Phone | None = None,
    ) -> EnrolledKey:
        """Enroll this phone's key with the code read off the device (and an owner's
        approval, unless the device has no key yet); pins the device's key on success."""
        key = self.ring.key()
        approval = None
        if approver is not None:
            approval = approver.approve(challenge, key.public.point, role=role, member=member)
        request = request_enrollment(
            key,
            challenge,
            role=role,
            member=member,
            code=code,
            approver=approver.ring.key().public if approver is not None else None,
            approval=approval,
        )
        enrolled = await self.hub.enroll(challenge.home, challenge.device, request)
        self.ring.pin(challenge.home, challenge.device, Pin(challenge.device_key, member, role))
        return enrolled

    async def ask(self, challenge: EnrollmentChallenge, *, code: str, role: Role, member: str) -> Pending:
        """On a device that holds keys: leave this phone's request (and its presence proof
        over the code) at the hub for an owner to approve from their own client."""
        key = self.ring.key()
        request = request_enrollment(key, challenge, role=role, member=member, code=code)
        body = PendingAsk(
            new_key=request.new_key,
            role=role,
            member=member,
            nonce=challenge.nonce,
            device_key=challenge.device_key,
            code=code,
            proof=request.proof,
        )
        return await self.hub.ask(challenge.home, challenge.device, body)

    async def outcome(self, asked: Pending, *, wait: float = 25.0) -> Pending:
        """Wait for an owner's answer to ``asked`` (long polls until it is settled); pins
        the device's key once enrolled."""
        now = asked
        while now.status == "pending":
            now = await self.hub.pending_one(asked.home, asked.device, asked.id, wait=wait)
        if now.status == "enrolled":
            pin = Pin(asked.challenge.device_key, asked.member, asked.role)
            self.ring.pin(asked.home, asked.device, pin)
        return now

    async def approve_request(self, asked: Pending) -> Pending:
        """As an owner: approve another client's pending request, after checking that the
        device key it answers is the one this phone pinned (so a hub cannot turn this
        approval towards another device) — the device then checks the rest."""
        pin = self._pin(asked.home, asked.device)
        if pin.device_key != asked.challenge.device_key or (asked.challenge.home, asked.challenge.device) != (
            asked.home,
            asked.device,
        ):
            raise KeyRefused(
                "device_key_mismatch",
                "the request answers a device key other than the one this phone pinned for"
                f" {asked.home}/{asked.device}; not approving",
            )
        approval = self.approve(asked.challenge, asked.new_key, role=asked.role, member=asked.member)
        body = PendingApproval(self.ring.key().public.key_id, approval)
        return await self.hub.approve_pending(asked.home, asked.device, asked.id, body)

    async def delegate(
        self, challenge: EnrollmentChallenge, *, domains: tuple[str, ...], code: str
    ) -> EnrolledKey:
        """As an owner: let the hub's automations sign in ``domains`` on the challenged
        device, and nowhere else (docs/signing.md, "Automations")."""
        home, device = challenge.home, challenge.device
        offered = await self.hub.delegate_key(home, device, domains)
        approval = self.approve(challenge, offered.point, role=Role.GUEST, member=offered.member)
        body = wire.DelegateRequest(domains, challenge, code, self.ring.key().public.point, approval)
        return await self.hub.delegate(home, device, body)

    async def revoke(self, home: str, device: str, point: bytes) -> EnrolledKey:
        """As an owner: disable the key ``point`` on the device."""
        pin = self._pin(home, device)
        key = self.ring.key()
        approval = approve_revocation(
            key, home=home, device=device, device_key=PublicKey(pin.device_key), revoked=PublicKey(point)
        )
        return await self.hub.revoke(home, device, Revocation(point, key.public.key_id, approval))

    def _pin(self, home: str, device: str) -> Pin:
        pin = self.ring.pinned(home, device)
        if pin is None:
            raise KeyRefused("not_enrolled", f"this phone is not enrolled on {home}/{device}")
        return pin

    async def sign(
        self,
        home: str,
        device: str,
        kind: CommandKind,
        target: str,
        args: dict[str, Any] | None = None,
        *,
        ttl: float = 30.0,
    ) -> dict[str, Any]:
        """Open a session through the hub and sign one command; returns the body to submit."""
        pin = self._pin(home, device)
        key = self.ring.key()
        request = session_request(key)
        opened = await self.hub.session(home, device, request)
        info = opened.info
        now = time.monotonic()
        session = PhoneSession(
            key=key, device_key=PublicKey(pin.device_key), request=request, info=info, now=now
        )
        kept = self._sessions.get((home, device))
        if kept is not None and kept.epoch == session.epoch and kept.counter > session.counter:
            session = kept
        self._sessions[(home, device)] = session
        spec = SPECS.get(opened.type)
        if spec is None:
            raise CarhomeError(
                f"the hub says {home}/{device} is a {opened.type!r}, a type this phone does not know"
            )
        checked = spec.action(target).check_args(dict(args or {})) if kind == "action" else dict(args or {})
        command_id = uuid.uuid4().hex
        expires = opened.now + ttl
        fields = CommandFields(
            id=command_id,
            home=home,
            device=device,
            kind=kind,
            target=target,
            args=checked,
            member=opened.member,
            expires=expires,
        )
        signature = session.sign(
            fields, domain=domain_of(spec, kind, target), now=now, ttl=min(ttl, session.max_ttl)
        )
        return {
            "id": command_id,
            "kind": kind,
            "target": target,
            "args": checked,
            "expires": expires,
            "member": opened.member,
            "signature": signature,
        }

    async def send(
        self,
        home: str,
        device: str,
        kind: CommandKind,
        target: str,
        args: dict[str, Any] | None = None,
        *,
        ttl: float = 30.0,
        wait: float | None = None,
    ) -> Command:
        """Sign and submit a command; with ``wait``, the hub answers once it is final."""
        body = await self.sign(home, device, kind, target, args, ttl=ttl)
        if wait:
            body["wait"] = wait
        return await self.hub.submit(home, device, body)
