"""``Access``: the access parts of one hub process, made from its data directory.

A running hub needs every access piece at once — the member registry, passwords, the
token issuer, the login throttle, the audit log and the gatekeeper built from them — and
each face (HTTP API, WebSocket, KUKSA, Home Assistant bridge) needs the same instances.
``async with Access.open(directory, clock) as access`` builds them over
``<data_dir>/access.db`` (members, the audit chain and the login sessions,
``carhome.access.database``; mode 0600 in a directory made 0700), open until the block
ends, and ``<data_dir>/token.key`` (the token secret, 32 random bytes, mode 0600, made on
first start), so a restart keeps members, the audit chain and everybody's sessions: an
access or refresh token issued before it still works, a revoked or spent one stays refused.
When the hub's store is on PostgreSQL (``postgres``), all of it is kept in that database
instead, and no ``access.db`` or ``token.key`` is made: members and one audit chain per home
in the tables of ``carhome.access.postgres``, the sessions and the token secret in those of
``carhome.access.sessions``; so a restart, or a second process on the same database, finds
the same members and chains and takes the same tokens.

``ensure_owner`` is how the demo's home gets its owner. A served hub without members makes
a one-time setup code instead (``carhome.access.firstrun``): the web app's first-run page or
``carhome setup`` makes the first owner with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

from starlette.routing import BaseRoute

from carhome.access.audit import AuditLog, AuditStore, SqliteAuditStore
from carhome.access.bearer import OPERATIONS as AUTH_OPERATIONS
from carhome.access.bearer import Bearer, auth_routes
from carhome.access.database import ACCESS_DB, access_file
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.logins import Logins
from carhome.access.members import Member, Members, MemberStore, SqliteMemberStore
from carhome.access.passwords import Passwords
from carhome.access.postgres import PostgresAuditStore, PostgresMemberStore, open_tables
from carhome.access.routes import OPERATIONS as MEMBER_OPERATIONS
from carhome.access.routes import member_routes
from carhome.access.sessions import PostgresSessionStore, SessionStore, SqliteSessionStore
from carhome.access.throttle import LoginThrottle
from carhome.access.tokens import InvalidToken, Tokens
from carhome.clock import Clock
from carhome.errors import CarhomeError
from carhome.files import create_atomically
from carhome.http.operations import Operation
from carhome.http.principals import Authenticator
from carhome.hub.commands import CommandRouter, Decision
from carhome.parts.access import Revocation
from carhome.pgdatabase import PgDatabase
from carhome.private import private_dir
from carhome.wire.members import Role

log: Final = logging.getLogger(__name__)

TOKEN_KEY: Final = "token.key"  # noqa: S105 - a file name, not a secret
_SECRET_BYTES: Final = 32


class AccessSetupError(CarhomeError):
    """The access files in the data directory cannot be read or made."""


def _prepare(directory: Path) -> None:
    """Make ``directory`` (0700) when missing."""
    try:
        private_dir(directory)
    except OSError as exc:
        raise AccessSetupError(f"cannot make the access files in {directory}: {exc.strerror}") from exc


def _secret(path: Path) -> bytes:
    """The token secret in ``path``, made (mode 0600) the first time."""
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        secret = secrets.token_bytes(_SECRET_BYTES)
        create_atomically(path, secret)
        return secret
    except OSError as exc:
        raise AccessSetupError(f"cannot read the token secret {path}: {exc.strerror}") from exc
    if len(secret) < _SECRET_BYTES:
        raise AccessSetupError(
            f"the token secret {path} is {len(secret)} bytes; it needs {_SECRET_BYTES}"
            " (delete it to make a new one: everybody logs in again)"
        )
    return secret


@contextlib.asynccontextmanager
async def _stores(
    directory: Path, postgres: PgDatabase | None
) -> AsyncIterator[tuple[MemberStore, AuditStore, SessionStore, bytes]]:
    """Where the members, the audit chain and the login sessions are kept, and the token
    secret: the tables of ``postgres`` when the hub's store is on PostgreSQL, else
    ``access.db`` and the file ``token.key`` in ``directory``."""
    if postgres is not None:  # the process opened it and closes it
        await open_tables(postgres)
        sessions = await PostgresSessionStore.open(postgres)
        yield PostgresMemberStore(postgres), PostgresAuditStore(postgres), sessions, await sessions.secret()
        return
    async with access_file(directory / ACCESS_DB) as database:  # password hashes, the audit chain
        secret = await asyncio.to_thread(_secret, directory / TOKEN_KEY)
        yield SqliteMemberStore(database), SqliteAuditStore(database), SqliteSessionStore(database), secret


class Access:
    """Members, passwords, tokens, logins, audit and the gatekeeper of one hub."""

    def __init__(
        self,
        *,
        members: Members,
        audit: AuditLog,
        tokens: Tokens,
        clock: Clock,
        passwords: Passwords | None = None,
        require_signatures: bool = True,
    ) -> None:
        self.clock = clock
        self.members = members
        self.audit = audit
        self.tokens = tokens
        self.passwords = passwords or Passwords()
        self.throttle = LoginThrottle(clock)
        self.logins = Logins(members, self.passwords, tokens, self.throttle)
        self.gatekeeper = PolicyGatekeeper(members, audit, clock, require_signatures=require_signatures)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        directory: Path,
        clock: Clock,
        *,
        require_signatures: bool = True,
        access_ttl: float | None = None,
        passwords: Passwords | None = None,
        postgres: PgDatabase | None = None,
    ) -> AsyncIterator[Access]:
        """The access parts over ``directory`` (made when missing), open for the block; kept
        in ``postgres`` when given, else in ``access.db`` and ``token.key``."""
        await asyncio.to_thread(_prepare, directory)
        async with _stores(directory, postgres) as (member_store, audit_store, sessions, secret):
            members = await Members.load(member_store)
            tokens = await Tokens.load(secret, clock, members, sessions)
            if access_ttl is not None:
                tokens.access_ttl = access_ttl
            yield cls(
                members=members,
                audit=AuditLog(audit_store, clock),
                tokens=tokens,
                clock=clock,
                passwords=passwords,
                require_signatures=require_signatures,
            )

    def guard(self, router: CommandRouter) -> None:
        """Withdraw the queued commands of revoked members: those revoked before this start
        (their commands came back from the outbox) and each one revoked from now on."""
        for member in self.members:
            if member.revoked:
                router.withdraw(member.id, f"{member.id} is revoked")
        self.members.on_revoke(lambda m: self._withdrawn(router, m))

    @staticmethod
    def _withdrawn(router: CommandRouter, member: Member) -> None:
        gone = router.withdraw(member.id, f"{member.id} was revoked")
        if gone:
            log.info("withdrew %d queued command(s) of revoked member %s", len(gone), member.id)

    # the access seam (``carhome.parts.access.AccessControl``): what the other parts need

    def authenticator(self) -> Authenticator:
        """Bearer tokens checked against this hub's sessions; a guest's view cut to their grants."""
        return Bearer(self)

    def http_routes(self) -> list[BaseRoute]:
        """Logging in, renewing and ending sessions, and managing members."""
        return [*auth_routes(self), *member_routes(self)]

    def operations(self) -> tuple[Operation[Any], ...]:
        return (*AUTH_OPERATIONS, *MEMBER_OPERATIONS)

    def on_revoke(self, listener: Callable[[Revocation], None]) -> Callable[[], None]:
        return self.tokens.on_revoke(listener)

    async def authorize(self, *, member: str, home: str, face: str, operation: str) -> Decision:
        return await self.gatekeeper.authorize(member=member, home=home, face=face, operation=operation)

    async def record(
        self, *, home: str, member: str, face: str, command: str, device: str, target: str, decision: Decision
    ) -> object:
        return await self.audit.record(
            home=home,
            member=member,
            face=face,
            command=command,
            device=device,
            target=target,
            decision=decision,
        )

    def home_of(self, member: str) -> str | None:
        return self.members.home_of(member)

    def reader(self, token: str, home: str, device: str, prop: str) -> str | None:
        try:
            claims = self.tokens.check(token)
        except InvalidToken:
            return None
        member = self.members.get(claims.member)
        if claims.home != home or member is None or not member.sees(device, self.clock.time(), prop):
            return None
        return claims.member

    def owns(self, home: str, member: str) -> bool:
        found = self.members.get(member)
        return found is not None and found.home == home and found.role is Role.OWNER and not found.revoked

    async def ensure_owner(self, member_id: str, home: str, name: str, password: str) -> bool:
        """Add ``member_id`` as an owner of ``home`` with ``password`` unless a member of that
        id exists; True if it was added."""
        if self.members.get(member_id) is not None:
            return False
        hashed = await asyncio.to_thread(self.passwords.hash, password)  # argon2: off the event loop
        await self.members.add(Member(id=member_id, home=home, name=name, role=Role.OWNER, password=hashed))
        return True
