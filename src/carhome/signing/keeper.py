"""The device's key keeper: what a car, lock, garage or charger embeds to be commanded safely.

``DeviceKeys`` puts the device side of the signing protocol together in one place a device
can own: its own key pair, the key store of enrolled phones, the enrollment challenge and
the ``DeviceVerifier`` that decides each command. It keeps all of it in one directory
(``device.pem``, ``keys.msgpack``, ``verifier.msgpack``), every write atomic, so a restart
keeps the enrolled keys; opening it with ``boot=True`` (a power-up) starts a new epoch.

Two things are added on top of the core protocol:

- **revocation**: an enabled owner key signs ``T("carhome-revoke-v1", home, device,
  revoked key, device key)``; the key is disabled for good (keys are never re-enabled,
  so a replayed revocation changes nothing). The last enabled owner cannot be revoked.
- **delegates**: a key enrolled for the member ``delegate:<domain>[+<domain>…]`` (role
  ``guest``) may sign commands in those domains only. The owner's approval signature
  covers the member string, so the scope is the owner's decision, not the holder's. The
  hub holds such a key to sign automations (docs/signing.md, "Automations").

The code shown on the device for an enrollment goes to ``display`` and nowhere else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

import msgspec

from carhome.clock import Clock
from carhome.files import write_atomically
from carhome.private import private_dir
from carhome.signing.counters import VerifierState
from carhome.signing.enrollment import Enroller, EnrollmentChallenge, EnrollmentRejected, EnrollmentRequest
from carhome.signing.envelope import CommandFields, Envelope, MalformedSignature, domain_of
from carhome.signing.keys import EnrolledKey, InvalidKey, KeyPair, KeyStore, PublicKey
from carhome.signing.roles import Role
from carhome.signing.session import SessionInfo, SessionRequest
from carhome.signing.transcript import Tag, transcript
from carhome.signing.verifier import _HINTS, DeviceVerifier, Reason, Verdict
from carhome.spec import DeviceSpec

log: Final = logging.getLogger(__name__)

REVOKE_SCHEME: Final = "carhome-revoke-v1"
DELEGATE_PREFIX: Final = "delegate:"
NOT_DELEGATED: Final = "not_delegated"
"""Refusal code (beside the verifier's ``Reason``s): a delegate key signed outside its domains."""

_DEVICE_KEY: Final = "device.pem"
_KEYS: Final = "keys.msgpack"
_VERIFIER: Final = "verifier.msgpack"

Display = Callable[[str], None]


def delegate_member(domains: tuple[str, ...] | list[str]) -> str:
    """The member name that scopes a delegate key to ``domains`` (sorted, no repeats)."""
    chosen = sorted(set(domains))
    if not chosen or any(not d or "+" in d for d in chosen):
        raise ValueError("a delegate needs at least one domain, e.g. ('garage',)")
    return DELEGATE_PREFIX + "+".join(chosen)


def delegated_domains(member: str) -> frozenset[str] | None:
    """The domains a delegate key may sign in, or ``None`` for a person's key."""
    if not member.startswith(DELEGATE_PREFIX):
        return None
    return frozenset(member[len(DELEGATE_PREFIX) :].split("+"))


class Revocation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Owner → device: disable ``point`` (``approver`` is the owner's key id)."""

    point: bytes
    approver: bytes
    approval: bytes


def revoke_transcript(*, home: str, device: str, device_key: PublicKey, revoked: PublicKey) -> bytes:
    """What an owner signs to revoke ``revoked`` on one device."""
    return transcript(
        REVOKE_SCHEME,
        (Tag.HOME, home),
        (Tag.DEVICE, device),
        (Tag.PHONE_KEY, revoked.point),
        (Tag.DEVICE_KEY, device_key.point),
    )


def approve_revocation(
    owner: KeyPair, *, home: str, device: str, device_key: PublicKey, revoked: PublicKey
) -> bytes:
    """The owner's phone: sign the revocation of ``revoked``."""
    return owner.sign(revoke_transcript(home=home, device=device, device_key=device_key, revoked=revoked))


class Check(msgspec.Struct, frozen=True):
    """The keeper's answer for one command: the verifier's verdict, or a delegate refusal."""

    accepted: bool
    reason: str
    verdict: Verdict | None = None

    @property
    def error(self) -> str:
        """The reason code first, then what to do: what the device puts in its ack."""
        if self.reason == NOT_DELEGATED:
            return f"{NOT_DELEGATED}: the delegate key was not given this domain; an owner must delegate it"
        return f"{self.reason}: {_HINTS.get(Reason(self.reason), 'refused')}"


class FileVerifierStore:
    """A ``VerifierStore`` in one file: ``save`` returns once the state is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> VerifierState | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return msgspec.msgpack.decode(data, type=VerifierState)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # a damaged state only costs a new epoch: nothing old can run in it
            log.warning("verifier state %s is damaged; starting a new epoch", self.path)
            return None

    def save(self, state: VerifierState) -> None:
        write_atomically(self.path, msgspec.msgpack.encode(state))


class DeviceKeys:
    """One device's keys, enrollment and verifier, kept in ``directory``.

    ``boot=True`` is a power-up (a new epoch); ``boot=False`` a restart of the software
    only (the epoch and counters go on). ``display`` shows an enrollment code on the
    device's screen (a real device) or wherever the simulator says.
    """

    def __init__(
        self,
        directory: Path,
        *,
        home: str,
        device: str,
        spec: DeviceSpec,
        clock: Clock,
        boot: bool = True,
        display: Display | None = None,
        max_ttl: float = 300.0,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        private_dir(directory)
        self.directory = directory
        self.home: Final = home
        self.device: Final = device
        self.spec: Final = spec
        self.display = display
        self.key = self._device_key(directory / _DEVICE_KEY)
        keys_file = directory / _KEYS
        self.keys = KeyStore.restore(keys_file.read_bytes()) if keys_file.exists() else KeyStore()
        self.verifier = DeviceVerifier(
            home=home,
            device=device,
            spec=spec,
            key=self.key,
            keys=self.keys,
            store=FileVerifierStore(directory / _VERIFIER),
            clock=clock,
            boot=boot,
            max_ttl=max_ttl,
            entropy=entropy,
        )
        self.enroller = Enroller(
            home=home, device=device, key=self.key, keys=self.keys, clock=clock, entropy=entropy
        )

    @staticmethod
    def _device_key(path: Path) -> KeyPair:
        if path.exists():
            return KeyPair.load(path)
        key = KeyPair.generate()
        key.save(path)
        return key

    @property
    def epoch(self) -> bytes:
        return self.verifier.epoch

    def reboot(self) -> None:
        """A power cycle: a new epoch, so every phone must open a new session."""
        self.verifier.reboot()

    def _save_keys(self) -> None:
        write_atomically(self.directory / _KEYS, self.keys.snapshot())

    # -- sessions and enrollment ------------------------------------------------------------

    def session(self, request: SessionRequest) -> SessionInfo:
        """Answer a phone's session request (``SignatureRejected`` for an unusable key)."""
        return self.verifier.session_info(request)

    def begin(self) -> EnrollmentChallenge:
        """Open an enrollment; the code goes to the screen, the challenge to the phones."""
        challenge, code = self.enroller.begin()
        if self.display is not None:
            self.display(code)
        else:
            log.warning("%s/%s enrollment code: %s", self.home, self.device, code)
        return challenge

    def enroll(self, request: EnrollmentRequest) -> EnrolledKey:
        """Enroll a key (``EnrollmentRejected`` saying why not) and keep it on disk."""
        if delegated_domains(request.member) is not None and request.role is not Role.GUEST:
            raise EnrollmentRejected("delegate_not_guest", "a delegate key is enrolled with the role guest")
        key = self.enroller.enroll(request)
        self._save_keys()
        if self.display is not None:
            self.display("")
        return key

    def revoke(self, revocation: Revocation) -> EnrolledKey:
        """Disable a key on an owner's signature (``EnrollmentRejected`` saying why not)."""
        try:
            revoked = PublicKey(revocation.point)
        except InvalidKey as exc:
            raise EnrollmentRejected("bad_key", str(exc)) from None
        target = self.keys.get(revoked.key_id)
        if target is None:
            raise EnrollmentRejected("unknown_key", "that key is not enrolled on this device")
        approver = self.keys.get(revocation.approver)
        if approver is None or not approver.enabled or approver.role is not Role.OWNER:
            raise EnrollmentRejected("approver_not_owner", "only an enrolled, enabled owner key may revoke")
        signed = revoke_transcript(
            home=self.home, device=self.device, device_key=self.key.public, revoked=revoked
        )
        if not approver.public.verify(revocation.approval, signed):
            raise EnrollmentRejected(
                "bad_approval", "the owner's signature over the revocation does not verify"
            )
        owners = [k for k in self.keys if k.enabled and k.role is Role.OWNER]
        if target.enabled and target.role is Role.OWNER and len(owners) == 1:
            raise EnrollmentRejected("last_owner", "this is the last owner key; enroll another owner first")
        if target.enabled:
            self.keys.disable(revoked.key_id)
            self._save_keys()
        key = self.keys.get(revoked.key_id)
        if key is None:  # pragma: no cover - just looked up
            raise EnrollmentRejected("unknown_key", "that key is not enrolled on this device")
        return key

    def listing(self) -> tuple[EnrolledKey, ...]:
        return tuple(self.keys)

    # -- commands -------------------------------------------------------------------------

    def check(self, command: CommandFields, signature: str | None) -> Check:
        """May ``command``, with ``signature``, run now? An accepted counter is on disk
        before this returns."""
        if signature is not None:
            refusal = self._delegate_refusal(command, signature)
            if refusal is not None:
                return refusal
        verdict = self.verifier.verify(command, signature)
        return Check(verdict.accepted, verdict.reason.value, verdict)

    def _delegate_refusal(self, command: CommandFields, signature: str) -> Check | None:
        try:
            envelope = Envelope.decode(signature)
        except MalformedSignature:
            return None  # the verifier says malformed
        key = self.keys.get(envelope.key_id)
        domains = delegated_domains(key.member) if key is not None else None
        if domains is None:
            return None
        wanted = domain_of(self.spec, command.kind, command.target)
        if wanted is None or wanted not in domains:
            return Check(False, NOT_DELEGATED)
        return None
