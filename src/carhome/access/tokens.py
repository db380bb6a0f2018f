"""Sessions: short-lived access tokens and revocable, rotating refresh tokens.

A login opens a *session*. Its **access token** (``v1.<claims>.<tag>``, base64url) is
HMAC-SHA256-signed with the hub's secret and lives ``access_ttl`` seconds of the injected
clock; it names its session, so revoking the session or the member ends it at once, not at
its expiry. Its **refresh token** (``<session>.<secret>``) is kept only as a SHA-256 digest,
is exchanged once (``refresh`` returns a new pair and retires the old secret) and, if a
retired secret comes back, the session is revoked: someone copied it.

Revoking a session or a member tells every listener (``on_revoke``) with a ``Revoked``,
so faces close the live connections of that session or member.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Final

import msgspec

from carhome.access.members import Member, Members
from carhome.clock import Clock
from carhome.errors import CarhomeError

log: Final = logging.getLogger(__name__)

ACCESS_TTL: Final = 300.0
REFRESH_TTL: Final = 30 * 24 * 3600.0
_PREFIX: Final = "v1"


class InvalidToken(CarhomeError):
    """A token is malformed, forged, expired or revoked; ``reason`` says which. Log in again."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token refused: {reason}; log in again")
        self.reason = reason


class Claims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    member: str
    home: str
    session: str
    expires: float


class TokenPair(msgspec.Struct, frozen=True):
    access: str
    refresh: str
    expires: float
    session: str


class Revoked(msgspec.Struct, frozen=True):
    """A session (or, with ``session=None``, every session of ``member``) that ended."""

    member: str
    session: str | None
    reason: str


class _Session(msgspec.Struct):
    member: str
    expires: float
    digest: bytes
    retired: set[bytes]
    revoked: bool = False


RevokeListener = Callable[[Revoked], None]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    """Issues and checks tokens for ``members``; hears member revocations."""

    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        members: Members,
        *,
        access_ttl: float = ACCESS_TTL,
        refresh_ttl: float = REFRESH_TTL,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret needs at least 32 random bytes")
        self._secret = secret
        self._clock = clock
        self._members = members
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._sessions: dict[str, _Session] = {}
        self._listeners: list[RevokeListener] = []
        members.on_revoke(self._member_revoked)

    # -- issuing --------------------------------------------------------------------------

    def open_session(self, member: Member) -> TokenPair:
        session = secrets.token_hex(16)
        secret = secrets.token_bytes(32)
        self._sessions[session] = _Session(
            member.id, self._clock.time() + self.refresh_ttl, hashlib.sha256(secret).digest(), set()
        )
        return self._pair(member, session, secret)

    def _pair(self, member: Member, session: str, secret: bytes) -> TokenPair:
        expires = self._clock.time() + self.access_ttl
        body = _b64(msgspec.json.encode(Claims(member.id, member.home, session, expires)))
        tag = _b64(hmac.digest(self._secret, f"{_PREFIX}.{body}".encode(), "sha256"))
        return TokenPair(f"{_PREFIX}.{body}.{tag}", f"{session}.{_b64(secret)}", expires, session)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair (the old refresh token is spent)."""
        session_id, _, text = refresh_token.partition(".")
        session = self._sessions.get(session_id)
        try:
            digest = hashlib.sha256(_unb64(text)).digest()
        except ValueError:
            raise InvalidToken("malformed") from None
        if session is None:
            raise InvalidToken("unknown session")
        if digest in session.retired:
            self.revoke_session(session_id, reason="a spent refresh token was used again")
            raise InvalidToken("refresh token already used; the session is revoked")
        if not hmac.compare_digest(digest, session.digest):
            raise InvalidToken("bad refresh token")
        member = self._live(session_id, session)
        secret = secrets.token_bytes(32)
        session.retired.add(session.digest)
        session.digest = hashlib.sha256(secret).digest()
        return self._pair(member, session_id, secret)

    # -- checking -------------------------------------------------------------------------

    def check(self, access_token: str) -> Claims:
        """The claims of a valid, unexpired access token of a live session, else ``InvalidToken``."""
        prefix, _, rest = access_token.partition(".")
        body, _, tag = rest.partition(".")
        if prefix != _PREFIX or not body or not tag:
            raise InvalidToken("malformed")
        expected = hmac.digest(self._secret, f"{_PREFIX}.{body}".encode(), "sha256")
        try:
            good = hmac.compare_digest(expected, _unb64(tag))
            claims = msgspec.json.decode(_unb64(body), type=Claims) if good else None
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            raise InvalidToken("malformed") from None
        if claims is None:
            raise InvalidToken("bad signature")
        if self._clock.time() >= claims.expires:
            raise InvalidToken("expired")
        session = self._sessions.get(claims.session)
        if session is None:
            raise InvalidToken("unknown session")
        self._live(claims.session, session)
        return claims

    def _live(self, session_id: str, session: _Session) -> Member:
        member = self._members.get(session.member)
        if session.revoked or member is None or member.revoked:
            raise InvalidToken("revoked")
        if self._clock.time() >= session.expires:
            raise InvalidToken("session expired")
        return member

    # -- revoking -------------------------------------------------------------------------

    def revoke_session(self, session_id: str, *, reason: str = "revoked") -> None:
        session = self._sessions.get(session_id)
        if session is None or session.revoked:
            return
        session.revoked = True
        self._tell(Revoked(session.member, session_id, reason))

    def _member_revoked(self, member: Member) -> None:
        for session in self._sessions.values():
            if session.member == member.id:
                session.revoked = True
        self._tell(Revoked(member.id, None, "member revoked"))

    def on_revoke(self, listener: RevokeListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, event: Revoked) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("token revocation listener failed")
