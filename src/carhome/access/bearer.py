"""Logging in through the API: bearer tokens checked, and the login, refresh and logout routes.

Every route but ``/api/health`` and ``/api/auth/*`` needs ``Authorization: Bearer <access
token>``; the answer to a missing, malformed, expired or revoked one is a 401 problem with
``WWW-Authenticate: Bearer`` and the reason (RFC 6750's ``invalid_token``). Tokens come
from ``POST /api/auth/login`` (member and password, throttled per account and per
address), are renewed by ``POST /api/auth/refresh`` (the refresh token is spent) and ended
by ``POST /api/auth/logout``. Nothing here decides what a member may do: that is the
gatekeeper's, for every face alike.

``Bearer`` is the hub's ``carhome.http.principals.Authenticator``; a guest's ``GrantView``
shows only the devices their live grants name (``carhome.access.members.Member.sees``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.access.logins import LoginRefused
from carhome.access.members import Member, Members
from carhome.access.tokens import InvalidToken, TokenPair
from carhome.clock import Clock
from carhome.http.bodies import decode_body, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import EVERYTHING, Principal, View, client_address, unauthorized
from carhome.http.problems import Problem
from carhome.parts.access import LOCATION
from carhome.wire.auth import LoginRequest, RefreshRequest, Tokens
from carhome.wire.members import Role

if TYPE_CHECKING:
    from carhome.access.service import Access

MAX_AUTH_BODY: Final = 4096


class GrantView(View):
    """What a guest may read: what their live grants name, looked up afresh at each question
    (a grant that ends or is withdrawn stops showing its devices at once, on a live
    WebSocket too)."""

    def __init__(self, members: Members, clock: Clock, member: str) -> None:
        self._members = members
        self._clock = clock
        self._member = member

    @property
    def everything(self) -> bool:
        return False

    def _guest(self) -> Member | None:
        return self._members.get(self._member)

    def sees(self, device: str) -> bool:
        guest = self._guest()
        return guest is not None and guest.sees(device, self._clock.time())

    def sees_property(self, device: str, prop: str) -> bool:
        guest = self._guest()
        return guest is not None and guest.sees(device, self._clock.time(), prop)

    def sees_location(self, device: str) -> bool:
        return self.sees_property(device, LOCATION)


class Bearer:
    """Checks ``Authorization: Bearer`` against the hub's tokens."""

    def __init__(self, access: Access) -> None:
        self._tokens = access.tokens
        self._members = access.members
        self._clock = access.clock

    def view(self, principal: Principal) -> View:
        if principal.role != Role.GUEST.value:
            return EVERYTHING
        return GrantView(self._members, self._clock, principal.member)

    def principal(self, connection: HTTPConnection) -> Principal:
        header = connection.headers.get("authorization")
        if header is None:
            raise unauthorized("no access token")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header is not 'Bearer <token>'")
        return self.check(token.strip())

    def check(self, token: str) -> Principal:
        try:
            claims = self._tokens.check(token)
        except InvalidToken as exc:
            raise unauthorized(f"access token {exc.reason}") from None
        member = self._members.get(claims.member)
        return Principal(
            claims.member, claims.home, claims.session, member.role.value if member else None, claims.expires
        )


def _json(value: object) -> Response:
    return json_response(value, headers={"Cache-Control": "no-store"})


class AuthRoutes:
    """Logging in, renewing and ending a session."""

    def __init__(self, access: Access) -> None:
        self._access = access
        self._bearer = Bearer(access)

    def _render(self, pair: TokenPair) -> Response:
        claims = self._access.tokens.check(pair.access)
        return _json(Tokens(pair.access, pair.refresh, "Bearer", pair.expires, claims.member, claims.home))

    async def login(self, request: Request) -> Response:
        body = await decode_body(request, LoginRequest, limit=MAX_AUTH_BODY)
        address = client_address(request)
        try:
            pair = await self._access.logins.login(body.member, body.password, address)
        except LoginRefused as exc:
            if exc.reason == "throttled":
                problem = Problem(
                    429, "throttled", "Too many login attempts", str(exc), retry_after=round(exc.retry_after)
                )
                problem.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
                raise problem from None
            raise unauthorized("wrong member or password") from None
        return self._render(pair)

    async def refresh(self, request: Request) -> Response:
        body = await decode_body(request, RefreshRequest, limit=MAX_AUTH_BODY)
        try:
            pair = await self._access.tokens.refresh(body.refresh)
        except InvalidToken as exc:
            raise unauthorized(f"refresh token {exc.reason}") from None
        return self._render(pair)

    async def logout(self, request: Request) -> Response:
        principal = self._bearer.principal(request)
        if principal.session is not None:
            await self._access.tokens.revoke_session(principal.session, reason="logged out")
        return Response(status_code=204)


OPERATIONS: Final[tuple[Operation[AuthRoutes], ...]] = (
    Operation(
        "POST",
        "/api/auth/login",
        AuthRoutes.login,
        "Log in: a member and password for tokens",
        "auth",
        {200: Tokens},
        body=LoginRequest,
        problems=(401, 429),
        open=True,
    ),
    Operation(
        "POST",
        "/api/auth/refresh",
        AuthRoutes.refresh,
        "Spend a refresh token for new tokens",
        "auth",
        {200: Tokens},
        body=RefreshRequest,
        problems=(401,),
        open=True,
    ),
    Operation("POST", "/api/auth/logout", AuthRoutes.logout, "End this session", "auth", {204: None}),
)


def auth_routes(access: Access) -> list[BaseRoute]:
    return routes(OPERATIONS, AuthRoutes(access))
