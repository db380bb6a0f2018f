"""The device-side verifier: the library a car, lock, garage or charger embeds.

It answers session requests from enrolled phones and decides, for each command, whether
its signature lets it run. It refuses unknown and disabled keys, another epoch, another
device or home, a domain that is not the target action's, a bad tag, an expired command or
one whose expiry lies further ahead than ``max_ttl``, and a counter already seen, below the
window of 32, or (home locks) not above the highest. Every answer is a ``Verdict`` with a
``Reason``; ``check`` raises ``SignatureRejected`` instead.

Time is the device's epoch clock: seconds on the injected clock since the epoch began.
Give it a monotonic clock where the device has one. If the clock is seen going backwards
the verifier starts a new epoch, so nothing signed against the old time base runs; a
forward step only makes commands expire early.
"""

from __future__ import annotations

import enum
import hmac
import os
from collections.abc import Callable
from typing import Final

import msgspec

from carhome.clock import Clock
from carhome.errors import DeviceRefused
from carhome.names import check_name
from carhome.signing.counters import CounterWindow, Slot, VerifierState, VerifierStore
from carhome.signing.envelope import (
    DEFAULT_MAX_TTL,
    NO_DOMAIN,
    CommandFields,
    Envelope,
    MalformedSignature,
    command_transcript,
    domain_of,
)
from carhome.signing.keys import EnrolledKey, KeyPair, KeyStore, PublicKey
from carhome.signing.roles import Role
from carhome.signing.session import (
    EPOCH_SIZE,
    MAX_U32,
    SessionInfo,
    SessionKeys,
    SessionRequest,
    device_session_keys,
    mac,
)
from carhome.signing.transcript import TranscriptTooLong
from carhome.spec import DeviceSpec
from carhome.spec.devices import HOME_LOCK

STRICT_DOMAINS: Final = frozenset({HOME_LOCK})


class Reason(enum.StrEnum):
    """Why a command may or may not run. Stable codes: they are counted and audited."""

    ACCEPTED = "accepted"
    NOT_REQUIRED = "not_required"
    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    DISABLED_KEY = "disabled_key"
    FOREIGN_EPOCH = "foreign_epoch"
    WRONG_DEVICE = "wrong_device"
    WRONG_DOMAIN = "wrong_domain"
    BAD_TAG = "bad_tag"
    EXPIRED = "expired"
    TTL_TOO_LONG = "ttl_too_long"
    REPLAYED = "replayed"
    OUT_OF_WINDOW = "out_of_window"
    OUT_OF_ORDER = "out_of_order"


_HINTS: Final = {
    Reason.UNSIGNED: "sign it with an enrolled key",
    Reason.MALFORMED: "the signature string is damaged; sign the command again",
    Reason.UNKNOWN_KEY: "enroll the key on this device first",
    Reason.DISABLED_KEY: "an owner must enable the key again",
    Reason.FOREIGN_EPOCH: "the device restarted; open a new session and sign again",
    Reason.WRONG_DEVICE: "the command was signed for another device",
    Reason.WRONG_DOMAIN: "the command was signed for another kind of action",
    Reason.BAD_TAG: "the command was altered or not signed by this key",
    Reason.EXPIRED: "send a new command",
    Reason.TTL_TOO_LONG: "sign with a shorter lifetime, or open a new session",
    Reason.REPLAYED: "this command ran already",
    Reason.OUT_OF_WINDOW: "the counter is too old; sign again",
    Reason.OUT_OF_ORDER: "locks take commands in counter order only; sign again",
}


class Verdict(msgspec.Struct, frozen=True):
    """The verifier's answer for one command."""

    accepted: bool
    reason: Reason
    key_id: bytes | None = None
    role: Role | None = None
    member: str | None = None
    counter: int | None = None


class SignatureRejected(DeviceRefused):
    """A device refused a command or session for its signature; ``code`` is a ``Reason``."""

    def __init__(self, code: Reason, *, device: str, command: str | None = None) -> None:
        what = f"command {command}" if command else "session request"
        super().__init__(f"{device} refused {what}: {code.value}; {_HINTS.get(code, '')}".rstrip("; "))
        self.reason = code.value
        self.code = code
        self.device = device
        self.command = command


class DeviceVerifier:
    """Verifies signed commands for one device.

    ``boot=True`` (a power-up) starts a new random epoch; ``boot=False`` (the verifier
    process restarted, the device did not) continues the epoch and counters kept in
    ``store``, unless there are none or the clock went back meanwhile.
    """

    def __init__(
        self,
        *,
        home: str,
        device: str,
        spec: DeviceSpec,
        key: KeyPair,
        keys: KeyStore,
        store: VerifierStore,
        clock: Clock,
        boot: bool = True,
        max_ttl: float = DEFAULT_MAX_TTL,
        require_all: bool = False,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not 0 < max_ttl <= 3600:
            raise ValueError(f"max_ttl must be more than 0 and at most 3600 s, got {max_ttl}")
        self.home: Final = check_name("home", home)
        self.device: Final = check_name("device", device)
        self.spec: Final = spec
        self.key: Final = key
        self.keys: Final = keys
        self.max_ttl: Final = max_ttl
        self.require_all: Final = require_all
        self._store = store
        self._clock = clock
        self._entropy = entropy
        self._sessions: dict[bytes, SessionKeys] = {}
        state = None if boot else store.load()
        if state is None or clock.time() < state.last_clock:
            state = self._new_epoch()
        self._state = state

    @property
    def epoch(self) -> bytes:
        return self._state.epoch

    def reboot(self) -> None:
        """Start a new epoch: every open session must handshake again."""
        self._state = self._new_epoch()

    def _new_epoch(self) -> VerifierState:
        now = self._clock.time()
        epoch = self._entropy(EPOCH_SIZE)
        if len(epoch) != EPOCH_SIZE:
            raise ValueError("the entropy source returned the wrong number of bytes")
        state = VerifierState(epoch=epoch, started_at=now, last_clock=now)
        self._sessions.clear()
        self._store.save(state)
        self._state = state
        return state

    def epoch_time(self) -> float:
        """Seconds since the epoch began; a clock gone backwards starts a new epoch."""
        raw = self._clock.time()
        if raw < self._state.last_clock or raw - self._state.started_at > MAX_U32 - self.max_ttl:
            self._new_epoch()
        self._state.last_clock = raw
        return raw - self._state.started_at

    def tick(self) -> None:
        """Look at the clock. A device on a wall clock calls this about once a second, so a
        backward step of more than a second is noticed and ends the epoch."""
        self.epoch_time()

    def _session(self, key: EnrolledKey, key_id: bytes) -> SessionKeys:
        keys = self._sessions.get(key_id)
        if keys is None:
            keys = device_session_keys(
                self.key, key.public, home=self.home, device=self.device, epoch=self.epoch
            )
            self._sessions[key_id] = keys
        return keys

    # -- handshake ------------------------------------------------------------------------

    def session_info(self, request: SessionRequest) -> SessionInfo:
        """Answer a phone's session request (``SignatureRejected`` for an unusable key)."""
        phone = PublicKey(request.phone_key)
        key = self.keys.get(phone.key_id)
        if key is None or not key.enabled:
            code = Reason.UNKNOWN_KEY if key is None else Reason.DISABLED_KEY
            raise SignatureRejected(code, device=self.device)
        clock = int(self.epoch_time())
        session = self._session(key, phone.key_id)
        counter = self._state.windows.get(phone.key_id, CounterWindow()).highest
        info = SessionInfo(
            home=self.home,
            device=self.device,
            device_key=self.key.public.point,
            epoch=self.epoch,
            clock=clock,
            counter=counter,
            tag=b"",  # tagged below, over these fields and the request
        )
        self._store.save(self._state)
        return info.tagged(session, request)

    # -- commands -------------------------------------------------------------------------

    def check(self, command: CommandFields, signature: str | None) -> Verdict:
        """``verify``, raising ``SignatureRejected`` unless the command may run."""
        verdict = self.verify(command, signature)
        if not verdict.accepted:
            raise SignatureRejected(verdict.reason, device=self.device, command=command.id)
        return verdict

    def verify(self, command: CommandFields, signature: str | None) -> Verdict:
        """Decide whether ``command``, with ``signature`` (``None``: unsigned), may run now.
        An accepted counter is stored durably before this returns, so the same command is
        never accepted twice."""
        expected = domain_of(self.spec, command.kind, command.target) or NO_DOMAIN
        if signature is None:
            allowed = expected == NO_DOMAIN and not self.require_all
            return Verdict(allowed, Reason.NOT_REQUIRED if allowed else Reason.UNSIGNED)
        try:
            envelope = Envelope.decode(signature)
        except MalformedSignature:
            return Verdict(False, Reason.MALFORMED)
        key_id = envelope.key_id
        key = self.keys.get(key_id)
        if key is None:
            return Verdict(False, Reason.UNKNOWN_KEY, key_id)
        if not key.enabled:
            return Verdict(False, Reason.DISABLED_KEY, key_id, key.role, key.member)
        now = self.epoch_time()
        refusal = self._authenticate(command, envelope, key, expected) or self._admit(envelope, now)
        if refusal is not None:
            return Verdict(False, refusal, key_id, key.role, key.member)
        window = self._state.windows.get(key_id, CounterWindow())
        self._state.windows[key_id] = window.accept(envelope.counter)
        self._store.save(self._state)
        return Verdict(True, Reason.ACCEPTED, key_id, key.role, key.member, envelope.counter)

    def _authenticate(
        self, command: CommandFields, envelope: Envelope, key: EnrolledKey, expected: str
    ) -> Reason | None:
        """Is the command bound to this epoch, device and domain, and the tag right?"""
        if command.home != self.home or command.device != self.device:
            return Reason.WRONG_DEVICE
        if envelope.domain != expected:
            return Reason.WRONG_DOMAIN
        if not hmac.compare_digest(envelope.epoch, self.epoch):
            return Reason.FOREIGN_EPOCH
        try:
            transcript = command_transcript(
                command,
                domain=envelope.domain,
                home=self.home,
                device=self.device,
                epoch=self.epoch,
                expires_at=envelope.expires_at,
                counter=envelope.counter,
            )
        except (TranscriptTooLong, UnicodeEncodeError, TypeError, msgspec.EncodeError):
            return Reason.MALFORMED
        tag = mac(self._session(key, envelope.key_id).command, transcript)
        return None if hmac.compare_digest(tag, envelope.tag) else Reason.BAD_TAG

    def _admit(self, envelope: Envelope, now: float) -> Reason | None:
        """Is an authentic command in time, and its counter fresh?"""
        if envelope.expires_at <= now:
            return Reason.EXPIRED
        if envelope.expires_at - now > self.max_ttl:
            return Reason.TTL_TOO_LONG
        window = self._state.windows.get(envelope.key_id, CounterWindow())
        slot = window.place(envelope.counter, strict=envelope.domain in STRICT_DOMAINS)
        return None if slot is Slot.FRESH else _SLOT_REASONS[slot]


_SLOT_REASONS: Final = {
    Slot.SEEN: Reason.REPLAYED,
    Slot.BELOW: Reason.OUT_OF_WINDOW,
    Slot.OUT_OF_ORDER: Reason.OUT_OF_ORDER,
}
