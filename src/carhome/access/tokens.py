"""Sessions: short-lived access tokens and revocable, rotating refresh tokens.

A login opens a *session*. Its **access token** (``v1.<claims>.<tag>``, base64url) is
HMAC-SHA256-signed with the hub's secret and lives ``access_ttl`` seconds of the injected
clock; it names its session, so revoking the session or the member ends it at once, not at
its expiry. Its **refresh token** (``<session>.<secret>``) is kept only as a SHA-256 digest,
is exchanged once (``refresh`` returns a new pair and retires the old secret) and, if a
retired secret comes back (one of the session's last 16), the session is revoked: someone
copied it.

Revoking a session or a member tells every listener (``on_revoke``) with a ``Revoked``,
so faces close the live connections of that session or member.

Sessions are written through to a ``SessionStore`` (``carhome.access.sessions``: memory,
``access.db`` or PostgreSQL) and ``Tokens.load`` takes up the live ones at start, so a
restart keeps people logged in. Opening, refreshing and revoking change the session in
memory at once, before the call first waits, and return once the store has it: a revoke
is effective at once and durable when it returns; a rotated refresh token stays spent
after a restart. Checking an access token reads memory only. Expired sessions are
deleted at start and about once an hour of the clock as sessions are opened. A member's
revocation is kept with the member (``carhome.access.members``), which ends their sessions
after a restart too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Final, Self

import msgspec

from carhome.access.members import Member, Members
from carhome.access.sessions import MemorySessionStore, Session, SessionStore
from carhome.clock import Clock
from carhome.errors import CarhomeError

log: Final = logging.getLogger(__name__)

ACCESS_TTL: Final = 300.0
REFRESH_TTL: Final = 30 * 24 * 3600.0
_PREFIX: Final = "v1"
_RETIRED_KEPT: Final = 16  # the spent refresh secrets of a session whose reuse revokes it
_PRUNE_EVERY: Final = 3600.0


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
        store: SessionStore | None = None,
        sessions: Iterable[Session] = (),
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret needs at least 32 random bytes")
        self._secret = secret
        self._clock = clock
        self._members = members
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._store: SessionStore = store or MemorySessionStore()
        self._sessions: dict[str, Session] = {s.id: s for s in sessions}
        self._next_prune = clock.time() + _PRUNE_EVERY
        # Records are written in the order they changed in memory, one at a time: a revoke
        # never lands before the refresh it followed (a pool's connections would race).
        self._writing = asyncio.Lock()
        self._listeners: list[RevokeListener] = []
        members.on_revoke(self._member_revoked)

    @classmethod
    async def load(
        cls,
        secret: bytes,
        clock: Clock,
        members: Members,
        store: SessionStore,
        *,
        access_ttl: float = ACCESS_TTL,
        refresh_ttl: float = REFRESH_TTL,
    ) -> Self:
        """The tokens of the live sessions ``store`` keeps (the expired ones deleted)."""
        sessions = await store.load(clock.time())
        return cls(
            secret,
            clock,
            members,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
            store=store,
            sessions=sessions,
        )

    # -- issuing --------------------------------------------------------------------------

    async def open_session(self, member: Member) -> TokenPair:
        """A new session of ``member``, kept when this returns."""
        await self._prune()
        session_id = secrets.token_hex(16)
        secret = secrets.token_bytes(32)
        now = self._clock.time()
        digest = hashlib.sha256(secret).digest()
        session = Session(session_id, member.home, member.id, digest, now, now + self.refresh_ttl)
        self._sessions[session_id] = session
        try:
            await self._save(session)
        except Exception:
            if self._sessions.get(session_id) is session:
                del self._sessions[session_id]
            raise
        return self._pair(member, session_id, secret)

    def _pair(self, member: Member, session: str, secret: bytes) -> TokenPair:
        expires = self._clock.time() + self.access_ttl
        body = _b64(msgspec.json.encode(Claims(member.id, member.home, session, expires)))
        tag = _b64(hmac.digest(self._secret, f"{_PREFIX}.{body}".encode(), "sha256"))
        return TokenPair(f"{_PREFIX}.{body}.{tag}", f"{session}.{_b64(secret)}", expires, session)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair (the old refresh token is spent, for good
        when this returns)."""
        session_id, _, text = refresh_token.partition(".")
        session = self._sessions.get(session_id)
        try:
            digest = hashlib.sha256(_unb64(text)).digest()
        except ValueError:
            raise InvalidToken("malformed") from None
        if session is None:
            raise InvalidToken("unknown session")
        if digest in session.retired:
            await self.revoke_session(session_id, reason="a spent refresh token was used again")
            raise InvalidToken("refresh token already used; the session is revoked")
        if not hmac.compare_digest(digest, session.digest):
            raise InvalidToken("bad refresh token")
        member = self._live(session)
        secret = secrets.token_bytes(32)
        retired = (*session.retired, session.digest)[-_RETIRED_KEPT:]
        rotated = msgspec.structs.replace(session, digest=hashlib.sha256(secret).digest(), retired=retired)
        self._sessions[session_id] = rotated  # before the first wait: a second use finds it spent
        try:
            await self._save(rotated)
        except Exception:
            if self._sessions.get(session_id) is rotated:  # not changed since: the old one stays good
                self._sessions[session_id] = session
            raise
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
        self._live(session)
        return claims

    def _live(self, session: Session) -> Member:
        member = self._members.get(session.member)
        if session.revoked or member is None or member.revoked:
            raise InvalidToken("revoked")
        if self._clock.time() >= session.expires:
            raise InvalidToken("session expired")
        return member

    # -- revoking -------------------------------------------------------------------------

    async def revoke_session(self, session_id: str, *, reason: str = "revoked") -> None:
        """End a session: at once in memory, kept when this returns."""
        session = self._sessions.get(session_id)
        if session is None or session.revoked:
            return
        revoked = msgspec.structs.replace(session, revoked=True)
        self._sessions[session_id] = revoked
        self._tell(Revoked(session.member, session_id, reason))
        await self._save(revoked)

    async def _save(self, session: Session) -> None:
        async with self._writing:
            await self._store.save(session)

    def _member_revoked(self, member: Member) -> None:
        # The member's record says it for good (kept before listeners hear it).
        for session in tuple(self._sessions.values()):
            if session.member == member.id and not session.revoked:
                self._sessions[session.id] = msgspec.structs.replace(session, revoked=True)
        self._tell(Revoked(member.id, None, "member revoked"))

    async def _prune(self) -> None:
        now = self._clock.time()
        if now < self._next_prune:
            return
        self._next_prune = now + _PRUNE_EVERY
        for session in tuple(self._sessions.values()):
            if session.expires <= now:
                del self._sessions[session.id]
        async with self._writing:
            await self._store.prune(now)

    def __len__(self) -> int:
        """How many sessions are held (live, revoked or expired but not yet pruned)."""
        return len(self._sessions)

    def on_revoke(self, listener: RevokeListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, event: Revoked) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("token revocation listener failed")
