"""Sessions: how a phone and a device agree on a key for one device epoch.

The phone sends a ``SessionRequest`` (its public key and a fresh nonce). The device, if the
key is enrolled and enabled, answers with ``SessionInfo``: its epoch, its epoch clock, the
highest counter it has accepted from this key in this epoch, and a tag over all of that and
the nonce. Both sides compute the same ``SessionKeys`` by ECDH (phone key × device key)
and HKDF-SHA256 with the epoch, home, device and both public keys as context, so a key is
good for one device epoch only: a reboot (new epoch) forces a new handshake.
"""

from __future__ import annotations

import hmac
from typing import Final

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carhome.signing.keys import KeyPair, PublicKey
from carhome.signing.transcript import Tag, transcript, u32

SESSION_SCHEME: Final = "carhome-session-v1"
INFO_SCHEME: Final = "carhome-session-info-v1"
EPOCH_SIZE: Final = 16
NONCE_SIZE: Final = 16
KEY_SIZE: Final = 32
MAX_U32: Final = 0xFFFF_FFFF


class SessionKeys(msgspec.Struct, frozen=True):
    """The two HMAC keys of one (phone key, device, epoch): commands and session info."""

    command: bytes
    info: bytes


def phone_session_keys(
    key: KeyPair, device_key: PublicKey, *, home: str, device: str, epoch: bytes
) -> SessionKeys:
    """The phone's side: its ``key`` with the device's pinned ``device_key``."""
    return _derive(
        key.exchange(device_key),
        phone=key.public,
        device_key=device_key,
        home=home,
        device=device,
        epoch=epoch,
    )


def device_session_keys(
    key: KeyPair, phone: PublicKey, *, home: str, device: str, epoch: bytes
) -> SessionKeys:
    """The device's side: its own ``key`` with the ``phone``'s key. Both sides get the same keys."""
    return _derive(
        key.exchange(phone), phone=phone, device_key=key.public, home=home, device=device, epoch=epoch
    )


def _derive(
    secret: bytes, *, phone: PublicKey, device_key: PublicKey, home: str, device: str, epoch: bytes
) -> SessionKeys:
    """HKDF-SHA256 over the ECDH ``secret``, bound to the home, device, epoch and both keys."""
    context = session_context(home=home, device=device, epoch=epoch, phone=phone, device_key=device_key)
    okm = HKDF(algorithm=hashes.SHA256(), length=2 * KEY_SIZE, salt=None, info=context).derive(secret)
    return SessionKeys(command=okm[:KEY_SIZE], info=okm[KEY_SIZE:])


def session_context(
    *, home: str, device: str, epoch: bytes, phone: PublicKey, device_key: PublicKey
) -> bytes:
    """The HKDF ``info``: binds the session keys to one home, device, epoch and key pair."""
    return transcript(
        SESSION_SCHEME,
        (Tag.HOME, home),
        (Tag.DEVICE, device),
        (Tag.EPOCH, epoch),
        (Tag.PHONE_KEY, phone.point),
        (Tag.DEVICE_KEY, device_key.point),
    )


class SessionRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Phone → device: open a session for this key; ``nonce`` keeps the answer fresh."""

    phone_key: bytes
    nonce: bytes

    def __post_init__(self) -> None:
        PublicKey(self.phone_key)
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError(f"a session nonce is {NONCE_SIZE} bytes")


class SessionInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Device → phone: the epoch, the device's epoch clock and the last counter, tagged."""

    home: str
    device: str
    device_key: bytes
    epoch: bytes
    clock: int
    counter: int
    tag: bytes

    def __post_init__(self) -> None:
        PublicKey(self.device_key)
        if len(self.epoch) != EPOCH_SIZE:
            raise ValueError(f"an epoch is {EPOCH_SIZE} bytes")
        if not (0 <= self.clock <= MAX_U32 and 0 <= self.counter <= MAX_U32):
            raise ValueError("clock and counter are unsigned 32-bit integers")

    def transcript(self, request: SessionRequest) -> bytes:
        """The bytes ``tag`` covers: these fields and the request they answer."""
        return session_info_transcript(
            home=self.home,
            device=self.device,
            epoch=self.epoch,
            counter=self.counter,
            phone=PublicKey(request.phone_key),
            device_key=PublicKey(self.device_key),
            nonce=request.nonce,
            clock=self.clock,
        )

    def tagged(self, keys: SessionKeys, request: SessionRequest) -> SessionInfo:
        """This answer to ``request`` with the tag the session's info key gives it: what
        the device sends, and what the phone expects of the pinned device."""
        return msgspec.structs.replace(self, tag=mac(keys.info, self.transcript(request)))


def session_info_transcript(
    *,
    home: str,
    device: str,
    epoch: bytes,
    counter: int,
    phone: PublicKey,
    device_key: PublicKey,
    nonce: bytes,
    clock: int,
) -> bytes:
    return transcript(
        INFO_SCHEME,
        (Tag.HOME, home),
        (Tag.DEVICE, device),
        (Tag.EPOCH, epoch),
        (Tag.COUNTER, u32(counter)),
        (Tag.PHONE_KEY, phone.point),
        (Tag.DEVICE_KEY, device_key.point),
        (Tag.NONCE, nonce),
        (Tag.CLOCK, u32(clock)),
    )


def mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256, the one tag function of the protocol."""
    return hmac.digest(key, data, "sha256")
