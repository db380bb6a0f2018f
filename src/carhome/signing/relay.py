"""The key messages a hub relays between phones and devices, and the device's answers.

Sessions and enrollment reach a device the way commands do: through the hub, which only
passes them on. Every ask carries an id and one operation; the device answers with the same
id. None of them needs trusting the hub: a session answer is tagged for the phone's nonce,
an enrollment needs the owner's and the new key's signatures and the code on the device's
screen, a revocation the owner's signature.

On MQTT (``carhome.connectors.mqtt``) a ``Session`` ask travels on the device's ``session``
topic and its answer on ``session_reply``; the other operations on ``enroll`` and
``enroll_reply``. The payloads are JSON (bytes as base64).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

import msgspec

from carhome.errors import CarhomeError, ConnectorError
from carhome.signing.enrollment import EnrollmentChallenge, EnrollmentRejected, EnrollmentRequest
from carhome.signing.keeper import DeviceKeys, Revocation
from carhome.signing.keys import EnrolledKey, InvalidKey
from carhome.signing.session import SessionInfo, SessionRequest
from carhome.signing.verifier import SignatureRejected

MAX_ID: Final = 64


class Session(msgspec.Struct, frozen=True, tag="session", forbid_unknown_fields=True):
    """Open a session for a phone key."""

    request: SessionRequest


class Begin(msgspec.Struct, frozen=True, tag="begin", forbid_unknown_fields=True):
    """Open an enrollment: the device shows a code and answers the challenge."""


class Enroll(msgspec.Struct, frozen=True, tag="enroll", forbid_unknown_fields=True):
    request: EnrollmentRequest


class ListKeys(msgspec.Struct, frozen=True, tag="list", forbid_unknown_fields=True):
    """The keys enrolled on the device (public keys, roles, members, enabled)."""


class Revoke(msgspec.Struct, frozen=True, tag="revoke", forbid_unknown_fields=True):
    revocation: Revocation


KeyOp = Session | Begin | Enroll | ListKeys | Revoke


class KeyAsk(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Hub → device: one operation, matched to its answer by ``id``."""

    id: str
    op: KeyOp

    def __post_init__(self) -> None:
        if not 0 < len(self.id) <= MAX_ID:
            raise ValueError(f"an ask id is 1 to {MAX_ID} characters")


class KeyAnswer(msgspec.Struct, frozen=True, omit_defaults=True):
    """Device → hub: the result of one ask, or the refusal ``reason`` and ``message``."""

    id: str
    ok: bool
    reason: str = ""
    message: str = ""
    info: SessionInfo | None = None
    challenge: EnrollmentChallenge | None = None
    key: EnrolledKey | None = None
    keys: tuple[EnrolledKey, ...] = ()


class KeyRefused(CarhomeError):
    """A device (or the relay) refused a key operation; ``reason`` is a short stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.detail = message


class KeyRelay(Protocol):
    """How a face reaches a device's keeper: the MQTT connector, or anything else."""

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float = ...) -> KeyAnswer:
        """Send ``op`` to the device and return its answer; ``ConnectorError`` on timeout."""
        ...


def answer(keeper: DeviceKeys, ask: KeyAsk) -> KeyAnswer:  # noqa: PLR0911 - one return per operation
    """The device's side: run ``ask`` on ``keeper``; refusals become a ``KeyAnswer``."""
    op = ask.op
    try:
        if isinstance(op, Session):
            return KeyAnswer(ask.id, True, info=keeper.session(op.request))
        if isinstance(op, Begin):
            return KeyAnswer(ask.id, True, challenge=keeper.begin())
        if isinstance(op, Enroll):
            return KeyAnswer(ask.id, True, key=keeper.enroll(op.request))
        if isinstance(op, Revoke):
            return KeyAnswer(ask.id, True, key=keeper.revoke(op.revocation))
        return KeyAnswer(ask.id, True, keys=keeper.listing())
    except SignatureRejected as exc:
        return KeyAnswer(ask.id, False, reason=exc.reason, message=str(exc))
    except EnrollmentRejected as exc:
        return KeyAnswer(ask.id, False, reason=exc.reason, message=str(exc))
    except (InvalidKey, ValueError) as exc:
        return KeyAnswer(ask.id, False, reason="bad_request", message=str(exc))


def unwrap(reply: KeyAnswer) -> KeyAnswer:
    """``reply`` if it succeeded, else ``KeyRefused`` with the device's reason."""
    if not reply.ok:
        raise KeyRefused(reply.reason or "refused", reply.message)
    return reply


class _Connected(Protocol):
    @property
    def connector(self) -> str: ...


class _Devices(Protocol):
    def device(self, home: str, device: str) -> _Connected: ...


class ByConnector:
    """A ``KeyRelay`` that asks each device through its own connector: an MQTT device
    through the MQTT connector, an OCPP charger through the OCPP server (``add`` one that
    starts later)."""

    def __init__(self, hub: _Devices, relays: Mapping[str, KeyRelay] | None = None) -> None:
        self._hub = hub
        self._relays = dict(relays or {})

    def add(self, connector: str, relay: KeyRelay) -> None:
        self._relays[connector] = relay

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float | None = None) -> KeyAnswer:
        connector = self._hub.device(home, device).connector  # UnknownDevice: not in the hub
        relay = self._relays.get(connector)
        if relay is None:
            raise ConnectorError(
                f"{home}/{device} is reached through {connector!r}, which relays no key asks;"
                f" signed commands work over {', '.join(sorted(self._relays)) or 'no connector'}"
            )
        if timeout is None:
            return await relay.ask(home, device, op)
        return await relay.ask(home, device, op, timeout=timeout)
