"""The phone side: open a session with a device and sign commands for it.

A phone keeps its ``KeyPair`` in a PEM file (``KeyPair.load``/``save``) and pins each
device's public key when it is enrolled there. To command a device it sends
``session_request`` and opens a ``PhoneSession`` from the device's ``SessionInfo``; the
session then signs commands, each with the next counter and an expiry on the device's
epoch clock, so the phone's wall clock does not matter to the device.
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Callable
from typing import Final

from carhome.errors import CarhomeError
from carhome.signing.envelope import (
    DEFAULT_MAX_TTL,
    NO_DOMAIN,
    VERSION,
    CommandFields,
    Envelope,
    command_transcript,
)
from carhome.signing.keys import KeyPair, PublicKey
from carhome.signing.session import (
    MAX_U32,
    NONCE_SIZE,
    SessionInfo,
    SessionRequest,
    mac,
    phone_session_keys,
)


class SessionRefused(CarhomeError):
    """The phone could not open or use a session; ``reason`` is a short stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def session_request(key: KeyPair, entropy: Callable[[int], bytes] = os.urandom) -> SessionRequest:
    """A fresh request to open a session with ``key``."""
    return SessionRequest(phone_key=key.public.point, nonce=entropy(NONCE_SIZE))


class PhoneSession:
    """One phone key's session with one device in one epoch. Not thread-safe: one signer.

    ``now`` arguments are the phone's own clock in seconds (monotonic is best); only the
    time elapsed since ``open`` is used.
    """

    __slots__ = ("_clock", "_counter", "_keys", "_opened_at", "device", "epoch", "home", "key", "max_ttl")

    def __init__(
        self,
        *,
        key: KeyPair,
        device_key: PublicKey,
        request: SessionRequest,
        info: SessionInfo,
        now: float,
        max_ttl: float = DEFAULT_MAX_TTL,
    ) -> None:
        if request.phone_key != key.public.point:
            raise SessionRefused("wrong_request", "the session request was made for another key")
        if not hmac.compare_digest(info.device_key, device_key.point):
            raise SessionRefused(
                "wrong_device_key",
                f"{info.device} answered with a key other than the one pinned "
                "at enrollment; do not use this device until an owner checks it",
            )
        keys = phone_session_keys(key, device_key, home=info.home, device=info.device, epoch=info.epoch)
        expected = info.tagged(keys, request).tag
        if not hmac.compare_digest(expected, info.tag):
            raise SessionRefused(
                "bad_session_tag", "the session answer is not from the pinned device or was altered"
            )
        self.key: Final = key
        self.home: Final = info.home
        self.device: Final = info.device
        self.epoch: Final = info.epoch
        self.max_ttl: Final = max_ttl
        self._keys = keys
        self._counter = info.counter
        self._clock = info.clock
        self._opened_at = now

    @property
    def counter(self) -> int:
        """The counter of the last command signed."""
        return self._counter

    def sign(self, fields: CommandFields, *, domain: str | None, now: float, ttl: float) -> str:
        """The signature string for ``fields``, valid for ``ttl`` seconds from ``now``."""
        if (fields.home, fields.device) != (self.home, self.device):
            raise SessionRefused(
                "wrong_device",
                f"this session is with {self.home}/{self.device}, the command "
                f"is for {fields.home}/{fields.device}",
            )
        if not 0 < ttl <= self.max_ttl:
            raise SessionRefused("bad_ttl", f"ttl must be more than 0 and at most {self.max_ttl} s")
        if self._counter >= MAX_U32:
            raise SessionRefused("counter_exhausted", "open a new session")
        elapsed = max(0.0, now - self._opened_at)
        # rounded down: a command may die a second early, never late
        expires_at = math.floor(self._clock + elapsed + ttl)
        if expires_at > MAX_U32:
            raise SessionRefused("epoch_too_old", "open a new session")
        self._counter += 1
        tag = mac(
            self._keys.command,
            command_transcript(
                fields,
                domain=domain or NO_DOMAIN,
                home=self.home,
                device=self.device,
                epoch=self.epoch,
                expires_at=expires_at,
                counter=self._counter,
            ),
        )
        return Envelope(
            v=VERSION,
            key_id=self.key.public.key_id,
            epoch=self.epoch,
            counter=self._counter,
            expires_at=expires_at,
            domain=domain or NO_DOMAIN,
            tag=tag,
        ).encode()
