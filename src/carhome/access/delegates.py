"""Automation delegates: the one way the hub itself may sign a safety-critical command.

An automation (the garage opening as the car comes home) runs with no phone in the loop, so
no member can sign its command. Rather than let the hub forge a member's signature (it
cannot) or let unsigned commands through (the device refuses them), an owner may *delegate*:
enroll, on one device, a key the hub holds, for the member ``delegate:<domain>[+…]`` with
the role ``guest``. The owner's approval signs that member string, and the device lets
the key sign in those domains only (``carhome.signing.keeper``). So the owner knowingly lets
the hub act in that domain on that device, and nowhere else.

``Delegates`` keeps those keys through a ``DelegateKeys`` (``FileDelegateKeys``: one PEM and
one pin file per device, under a directory of the hub's; ``PostgresDelegateKeys`` in
``carhome.access.postgres_delegates`` when the hub's store is on PostgreSQL), builds the
enrollment request for a delegate, and signs a command with a fresh session through the
``KeyRelay``. Signing is done before a command is submitted, never inside a decision:

- ``DelegateSigner`` is the hub's ``CommandSigner``: a part that acts with no phone (an
  automation run, the charging controller) submits ``delegated``, and the signer signs
  the command where an owner delegated its domain on that device — reading the key, opening
  a session with the device — before the gatekeeper is asked;
- ``DelegationGate`` is the gatekeeper in front of the hub's own, and only decides: an
  automation's command in a safety domain goes on if it carries a signature, or if an owner
  trusted that device with that domain unsigned; any other is refused with a reason that
  says how to delegate. It reads no file and talks to no device.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

import msgspec

from carhome.clock import Clock
from carhome.errors import CarhomeError, CommandDenied
from carhome.files import create_atomically, write_atomically
from carhome.hub.commands import Command, Decision, Gatekeeper
from carhome.private import private_dir
from carhome.signing.enrollment import EnrollmentChallenge, EnrollmentRequest, request_enrollment
from carhome.signing.envelope import DEFAULT_MAX_TTL, CommandFields, domain_of
from carhome.signing.keeper import delegate_member, delegated_domains
from carhome.signing.keys import KeyPair, PublicKey
from carhome.signing.phone import PhoneSession, session_request
from carhome.signing.relay import KeyRefused, KeyRelay, Session, unwrap
from carhome.signing.roles import Role
from carhome.spec import DeviceSpec

log: Final = logging.getLogger(__name__)

AUTOMATION_FACE: Final = "automation"
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]+")

Unsigned = Callable[[str, str, str], bool]
"""(home, device, domain) → whether an owner trusted the device to take that domain unsigned."""


def signed_fields(command: Command) -> CommandFields:
    """The fields of the hub's ``command`` a signature binds."""
    return msgspec.convert(command, CommandFields, from_attributes=True)


class Pin(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the hub remembers of one delegation: the device's key and the member string."""

    device_key: bytes
    member: str


class DelegateKeys(Protocol):
    """Where the hub keeps its delegate keys and pins, one of each per (home, device).

    Names are checked by ``Delegates`` before they reach it. Reads and writes are async:
    the signer reads before every delegated command, on the event loop's thread."""

    async def read_key(self, home: str, device: str) -> bytes | None:
        """The PEM of the device's delegate key, or None when none was made."""
        ...

    async def add_key(self, home: str, device: str, pem: bytes) -> bytes:
        """Keep ``pem`` unless a key is already kept, and return the one kept (never overwritten)."""
        ...

    async def read_pin(self, home: str, device: str) -> Pin | None: ...

    async def write_pin(self, home: str, device: str, pin: Pin) -> None:
        """Replace the device's pin whole; returns when it is durable."""
        ...

    async def entries(self) -> list[Delegation]:
        """Every device with a key or a pin, ordered by (home, device)."""
        ...

    async def put(self, delegation: Delegation) -> None:
        """Keep ``delegation`` as it is (what ``carhome store copy`` writes)."""
        ...


class Delegation(msgspec.Struct, frozen=True):
    """One device's delegate key and pin, as ``carhome store copy`` moves them."""

    home: str
    device: str
    pem: bytes | None
    pin: Pin | None


class FileDelegateKeys:
    """Delegate keys in ``directory/<home>/<device>.{pem,pin}``, for their owner's eyes only.

    A key is created, never overwritten; a pin is replaced whole. Files are read and
    written on a worker thread (writes are fsynced)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, home: str, device: str) -> tuple[Path, Path]:
        base = self.directory / home
        return base / f"{device}.pem", base / f"{device}.pin"

    async def read_key(self, home: str, device: str) -> bytes | None:
        pem, _ = self._paths(home, device)
        return await asyncio.to_thread(_read, pem)

    async def add_key(self, home: str, device: str, pem: bytes) -> bytes:
        path, _ = self._paths(home, device)
        return await asyncio.to_thread(_create, path, pem)

    async def read_pin(self, home: str, device: str) -> Pin | None:
        _, path = self._paths(home, device)
        data = await asyncio.to_thread(_read, path)
        return None if data is None else msgspec.json.decode(data, type=Pin)

    async def write_pin(self, home: str, device: str, pin: Pin) -> None:
        _, path = self._paths(home, device)
        await asyncio.to_thread(write_atomically, path, msgspec.json.encode(pin))

    async def entries(self) -> list[Delegation]:
        return await asyncio.to_thread(self._entries)

    async def put(self, delegation: Delegation) -> None:
        await asyncio.to_thread(self._put, delegation)

    def _put(self, delegation: Delegation) -> None:
        pem, pin = self._paths(delegation.home, delegation.device)
        private_dir(pem.parent)
        if delegation.pem is not None:
            write_atomically(pem, delegation.pem)
        if delegation.pin is not None:
            write_atomically(pin, msgspec.json.encode(delegation.pin))

    def _entries(self) -> list[Delegation]:
        found: list[Delegation] = []
        if not self.directory.is_dir():
            return found
        for home in sorted(p for p in self.directory.iterdir() if p.is_dir()):
            devices = sorted({f.stem for f in home.iterdir() if f.suffix in (".pem", ".pin")})
            for device in devices:
                if not (_NAME.fullmatch(home.name) and _NAME.fullmatch(device)):
                    continue
                pem, pin = self._paths(home.name, device)
                data = _read(pin)
                found.append(
                    Delegation(
                        home.name,
                        device,
                        _read(pem),
                        None if data is None else msgspec.json.decode(data, type=Pin),
                    )
                )
        return found


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _create(path: Path, pem: bytes) -> bytes:
    """Write a new key file, or read the one already there."""
    private_dir(path.parent)
    try:
        create_atomically(path, pem)
    except FileExistsError:
        return path.read_bytes()
    return pem


class Delegates:
    """The hub's delegate keys, one per device, kept in ``keys``."""

    def __init__(self, keys: DelegateKeys, relay: KeyRelay, clock: Clock) -> None:
        self.keys = keys
        self._relay = relay
        self._clock = clock
        # The last session per device: a fresh ask tells the current epoch; within it the
        # kept session's counter runs ahead of the device's, so commands signed close
        # together never share a counter.
        self._sessions: dict[tuple[str, str], PhoneSession] = {}

    @staticmethod
    def _check(home: str, device: str) -> None:
        if not (_NAME.fullmatch(home) and _NAME.fullmatch(device)):
            raise ValueError(f"not a home/device name: {home!r}/{device!r}")

    async def key(self, home: str, device: str) -> KeyPair:
        """The delegate key for ``device``, made on first use (enrolled only by an owner)."""
        self._check(home, device)
        pem = await self.keys.read_key(home, device)
        if pem is None:
            pem = await self.keys.add_key(home, device, KeyPair.generate().to_pem())
        return KeyPair.from_pem(pem)

    async def request(
        self,
        home: str,
        device: str,
        challenge: EnrollmentChallenge,
        *,
        domains: tuple[str, ...],
        code: str,
        approver: PublicKey,
        approval: bytes,
    ) -> EnrollmentRequest:
        """The enrollment request of the delegate key, with the owner's approval in it."""
        key = await self.key(home, device)
        member = delegate_member(domains)
        return request_enrollment(
            key, challenge, role=Role.GUEST, member=member, code=code, approver=approver, approval=approval
        )

    async def pin(self, home: str, device: str, device_key: bytes, member: str) -> None:
        """Remember a delegation the device accepted."""
        self._check(home, device)
        await self.keys.write_pin(home, device, Pin(device_key, member))

    async def covers(self, home: str, device: str, domain: str) -> bool:
        pin = await self._pin(home, device)
        domains = delegated_domains(pin.member) if pin is not None else None
        return domains is not None and domain in domains

    async def _pin(self, home: str, device: str) -> Pin | None:
        self._check(home, device)
        return await self.keys.read_pin(home, device)

    async def sign(self, command: Command, domain: str) -> str:
        """A signature for ``command`` by the device's delegate key, over a fresh session."""
        pin = await self._pin(command.home, command.device)
        if pin is None:
            raise KeyRefused("not_delegated", f"no delegate key on {command.home}/{command.device}")
        key = await self.key(command.home, command.device)
        request = session_request(key)
        reply = unwrap(await self._relay.ask(command.home, command.device, Session(request)))
        if reply.info is None:
            raise KeyRefused("bad_reply", "the device answered a session ask without a session")
        now = time.monotonic()
        session = PhoneSession(
            key=key, device_key=PublicKey(pin.device_key), request=request, info=reply.info, now=now
        )
        kept = self._sessions.get((command.home, command.device))
        if kept is not None and kept.epoch == session.epoch and kept.counter > session.counter:
            session = kept
        self._sessions[(command.home, command.device)] = session
        ttl = min(DEFAULT_MAX_TTL, max(1.0, command.expires - self._clock.time()))
        return session.sign(signed_fields(command), domain=domain, now=now, ttl=ttl)


class DelegateSigner:
    """The hub's ``CommandSigner``: signs a delegated command with the device's delegate key
    where an owner delegated the command's domain on that device.

    It gives no signature (``None``) to a command in no safety domain, to one an owner
    trusted the device to take unsigned (``unsigned(home, device, domain)``: a charger that
    cannot verify; the gatekeeper decides, and records why) and to one no owner delegated
    (the gatekeeper refuses it, saying how to delegate). A delegation it cannot use now
    (the device is offline, its answer does not verify) is ``CommandDenied``.
    """

    def __init__(self, delegates: Delegates, *, unsigned: Unsigned | None = None) -> None:
        self._delegates = delegates
        self._unsigned = unsigned
        self.signed = 0

    async def sign(self, command: Command, spec: DeviceSpec) -> str | None:
        domain = domain_of(spec, command.kind, command.target)
        if domain is None:
            return None
        home, device = command.home, command.device
        if self._unsigned is not None and self._unsigned(home, device, domain):
            return None
        if not await self._delegates.covers(home, device, domain):
            return None
        try:
            signature = await self._delegates.sign(command, domain)
        except CarhomeError as exc:
            raise CommandDenied(
                member=command.member,
                device=device,
                target=command.target,
                reason=f"automation: could not sign with the delegate key of {home}/{device}: {exc}",
            ) from exc
        self.signed += 1
        return signature


class DelegationGate:
    """A ``Gatekeeper`` in front of the hub's own that keeps unsigned automation commands
    out of the safety domains. It only decides: it holds no key and asks no device.

    Any command but an automation's in a safety domain goes to ``inner`` untouched, and so
    does an automation's that carries its signature (``DelegateSigner`` signed it before it
    was submitted) or that an owner trusted the device to take unsigned
    (``unsigned(home, device, domain)``). Any other is refused with a reason that says how an
    owner delegates the domain to the hub.
    """

    def __init__(self, inner: Gatekeeper, *, unsigned: Unsigned | None = None) -> None:
        self._inner = inner
        self._unsigned = unsigned

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        domain = domain_of(spec, command.kind, command.target)
        if command.face != AUTOMATION_FACE or domain is None or command.signature is not None:
            return await self._inner.decide(command, spec)
        if self._unsigned is not None and self._unsigned(command.home, command.device, domain):
            return await self._inner.decide(command, spec)  # it decides, and records why
        where = f"{command.home}/{command.device}"
        return Decision(
            False,
            f"automation: {command.target} is in the {domain} domain, which needs a signature, and no"
            f" owner delegated {domain} on {where} to the hub (`carhome keys delegate"
            f" {where} {domain}`)",
        )
