"""Who is asking: bearer tokens on the API, and the login, refresh and logout routes.

Every route but ``/api/health`` and ``/api/auth/*`` needs ``Authorization: Bearer <access
token>``; the answer to a missing, malformed, expired or revoked one is a 401 problem with
``WWW-Authenticate: Bearer`` and the reason (RFC 6750's ``invalid_token``). Tokens come
from ``POST /api/auth/login`` (member and password, throttled per account and per
address), are renewed by ``POST /api/auth/refresh`` (the refresh token is spent) and ended
by ``POST /api/auth/logout``. Nothing here decides what a member may do: that is the
gatekeeper's, for every face alike.

``Fixed`` is the authenticator of an app built without access control (tests and
embedding code that has already decided who acts); ``Bearer`` checks tokens.
"""

from __future__ import annotations

from typing import Final, Protocol

import msgspec
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from carhome.access.logins import LoginRefused
from carhome.access.service import Access
from carhome.access.tokens import InvalidToken, TokenPair
from carhome.api.bodies import decode_body, json_response
from carhome.api.problems import Problem

MAX_AUTH_BODY: Final = 4096


class Principal(msgspec.Struct, frozen=True):
    """The member a request acts for; ``home`` None means every home (no access control)."""

    member: str
    home: str | None = None
    session: str | None = None
    role: str | None = None

    def sees(self, home: str) -> bool:
        return self.home is None or self.home == home

    @property
    def may_change_settings(self) -> bool:
        """Owners and family change a home's settings (charging modes, prices); guests do not."""
        return self.role in (None, "owner", "family")


def principal_of(connection: HTTPConnection) -> Principal:
    """The principal ``RequireLogin`` found for this request."""
    found = connection.scope.get("state", {}).get("principal")
    if not isinstance(found, Principal):  # pragma: no cover - RequireLogin runs first
        raise unauthorized("no access token")
    return found


class Authenticator(Protocol):
    def principal(self, connection: HTTPConnection) -> Principal:
        """The request's member, or a 401 ``Problem``."""
        ...


class Fixed:
    """Every request acts for one member: an app without access control."""

    def __init__(self, member: str) -> None:
        self._principal = Principal(member)

    def principal(self, connection: HTTPConnection) -> Principal:
        return self._principal


def unauthorized(reason: str) -> Problem:
    problem = Problem(
        401,
        "unauthorized",
        "Not logged in",
        f"{reason}; log in with POST /api/auth/login (or `carhome login`) and send"
        " 'Authorization: Bearer <access token>'",
        reason=reason,
    )
    problem.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{reason}"'
    return problem


class Bearer:
    """Checks ``Authorization: Bearer`` against the hub's tokens."""

    def __init__(self, access: Access) -> None:
        self._tokens = access.tokens
        self._members = access.members

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
        return Principal(claims.member, claims.home, claims.session, member.role.value if member else None)


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    member: str
    password: str


class RefreshRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh: str


class Tokens(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_at: float
    member: str
    home: str


def _json(value: object) -> Response:
    return json_response(value, headers={"Cache-Control": "no-store"})


class _AuthRoutes:
    def __init__(self, access: Access) -> None:
        self._access = access
        self._bearer = Bearer(access)

    def _render(self, pair: TokenPair) -> Response:
        claims = self._access.tokens.check(pair.access)
        return _json(Tokens(pair.access, pair.refresh, "Bearer", pair.expires, claims.member, claims.home))

    async def login(self, request: Request) -> Response:
        body = await decode_body(request, LoginRequest, limit=MAX_AUTH_BODY)
        address = request.client.host if request.client is not None else "unknown"
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
            pair = self._access.tokens.refresh(body.refresh)
        except InvalidToken as exc:
            raise unauthorized(f"refresh token {exc.reason}") from None
        return self._render(pair)

    async def logout(self, request: Request) -> Response:
        principal = self._bearer.principal(request)
        if principal.session is not None:
            self._access.tokens.revoke_session(principal.session, reason="logged out")
        return Response(status_code=204)


def auth_routes(access: Access) -> list[Route]:
    r = _AuthRoutes(access)
    return [
        Route("/api/auth/login", r.login, methods=["POST"]),
        Route("/api/auth/refresh", r.refresh, methods=["POST"]),
        Route("/api/auth/logout", r.logout, methods=["POST"]),
    ]


OPEN_PATHS: Final = ("/api/health", "/api/auth/login", "/api/auth/refresh", "/api/ws")
"""What answers without a token: health, logging in, and the WebSocket (it authenticates
with its first frame)."""


class RequireLogin:
    """ASGI middleware: every HTTP request under ``/api/`` but ``OPEN_PATHS`` needs a valid
    token, whatever route serves it — so a route added later cannot forget to ask."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self._app = app
        self._auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/api/") and path not in OPEN_PATHS:
            try:
                principal = self._auth.principal(HTTPConnection(scope))
            except Problem as problem:
                await problem.response()(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self._app(scope, receive, send)
