"""A test rig for the signing protocol: devices with verifiers, phones with keys, commands."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

import msgspec

from carhome.signing import (
    CommandFields,
    DeviceVerifier,
    EnrolledKey,
    KeyPair,
    KeyStore,
    MemoryVerifierStore,
    PhoneSession,
    Role,
    SessionInfo,
    Verdict,
    session_request,
)
from carhome.signing.session import phone_session_keys
from carhome.spec import DeviceSpec
from carhome.testing import FakeClock

HOME = "h1"
T0 = 1_767_225_600.0


def entropy(seed: int) -> Callable[[int], bytes]:
    """Deterministic randomness for epochs and nonces."""
    return random.Random(seed).randbytes


class Device:
    """A device with its own key, key store, verifier store and clock."""

    def __init__(
        self,
        device: str,
        spec: DeviceSpec,
        *,
        seed: int = 1,
        home: str = HOME,
        clock: FakeClock | None = None,
        max_ttl: float = 300.0,
        store: MemoryVerifierStore | None = None,
    ) -> None:
        self.id = device
        self.home = home
        self.spec = spec
        self.key = KeyPair.generate()
        self.keys = KeyStore()
        self.store = store or MemoryVerifierStore()
        self.clock = clock or FakeClock(T0)
        self.max_ttl = max_ttl
        self._entropy = entropy(seed)
        self.verifier = self.start(boot=True)

    def start(self, *, boot: bool) -> DeviceVerifier:
        """Start (boot) or restart (same epoch) the verifier over the same store."""
        self.verifier = DeviceVerifier(
            home=self.home,
            device=self.id,
            spec=self.spec,
            key=self.key,
            keys=self.keys,
            store=self.store,
            clock=self.clock,
            boot=boot,
            max_ttl=self.max_ttl,
            entropy=self._entropy,
        )
        return self.verifier

    def enroll(self, key: KeyPair, role: Role = Role.OWNER, member: str = "ana") -> None:
        self.keys.add(EnrolledKey(point=key.public.point, role=role, member=member))


def open_session(key: KeyPair, device: Device, *, now: float = T0, max_ttl: float = 300.0) -> PhoneSession:
    request = session_request(key)
    info = device.verifier.session_info(request)
    return PhoneSession(
        key=key, device_key=device.key.public, request=request, info=info, now=now, max_ttl=max_ttl
    )


def forge_session(key: KeyPair, device: Device, *, now: float = T0) -> PhoneSession:
    """What an attacker with a key the device never enrolled can build: a session it
    derives alone, against the device's public key and current epoch."""
    request = session_request(key)
    epoch, clock = device.verifier.epoch, int(device.verifier.epoch_time())
    keys = phone_session_keys(key, device.key.public, home=device.home, device=device.id, epoch=epoch)
    info = SessionInfo(
        home=device.home,
        device=device.id,
        device_key=device.key.public.point,
        epoch=epoch,
        clock=clock,
        counter=0,
        tag=b"",
    ).tagged(keys, request)
    return PhoneSession(key=key, device_key=device.key.public, request=request, info=info, now=now)


def fields(
    device: str,
    target: str,
    n: int,
    *,
    args: dict[str, Any] | None = None,
    kind: str = "action",
    member: str = "ana",
    expires: float = T0 + 30,
    home: str = HOME,
) -> CommandFields:
    return CommandFields(
        id=f"cmd-{device}-{n:06d}",
        home=home,
        device=device,
        kind=kind,  # type: ignore[arg-type]
        target=target,
        args=args or {},
        member=member,
        expires=expires,
    )


class Received(CommandFields, frozen=True, kw_only=True):
    """A command as a device receives it: the fields a signature binds, and the signature
    (one struct, so a test alters any of them with ``msgspec.structs.replace``)."""

    signature: str | None


def command(f: CommandFields, signature: str | None) -> Received:
    return Received(**msgspec.structs.asdict(f) | {"args": dict(f.args)}, signature=signature)


def verify(verifier: DeviceVerifier, received: Received) -> Verdict:
    """What ``verifier`` says of ``received``."""
    return verifier.verify(received, received.signature)


def check(verifier: DeviceVerifier, received: Received) -> Verdict:
    """``verifier.check`` of ``received``: raises ``SignatureRejected`` unless it may run."""
    return verifier.check(received, received.signature)


def signed(
    session: PhoneSession, f: CommandFields, domain: str | None, *, now: float = T0, ttl: float = 30.0
) -> Received:
    return command(f, session.sign(f, domain=domain, now=now, ttl=ttl))


def raw_envelope(items: list[Any]) -> str:
    """Encode envelope fields without the checks ``Envelope`` makes (to build forgeries)."""
    return base64.urlsafe_b64encode(msgspec.msgpack.encode(items)).rstrip(b"=").decode()
