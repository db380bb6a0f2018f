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

Where a request comes from (what the login throttle counts, what "only on loopback"
means) is the connection's peer, unless that peer is one of the ``TrustedProxies``
(``api.trusted_proxies``): then it is the client its ``X-Forwarded-For`` names. From
anyone else the header is ignored, so a process on the hub's machine cannot pose as a
thousand addresses.

What a member may *read* is their ``View``: owners and family see their whole home; a guest
sees only the devices their live grants name, and a device's location only when a grant
names it (``carhome.access.members.Member.sees``). Every face reads through it: the device
list and details, the command list, the WebSocket, history, charging and the say answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final, Protocol

import msgspec
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from carhome.access.keys import Role
from carhome.access.logins import LoginRefused
from carhome.access.members import LOCATION, Member, Members
from carhome.access.service import Access
from carhome.access.tokens import InvalidToken, TokenPair
from carhome.api.bodies import decode_body, json_response
from carhome.api.problems import Problem
from carhome.clock import Clock

MAX_AUTH_BODY: Final = 4096
MAX_FORWARDED_HOPS: Final = 16


class Principal(msgspec.Struct, frozen=True):
    """The member a request acts for; ``home`` None means every home (no access control)."""

    member: str
    home: str | None = None
    session: str | None = None
    role: str | None = None
    expires: float | None = None
    """When the access token it came with expires (None: no token, no end)."""

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

    def view(self, principal: Principal) -> View:
        """What ``principal`` may read."""
        ...


class Fixed:
    """Every request acts for one member: an app without access control."""

    def __init__(self, member: str) -> None:
        self._principal = Principal(member)

    def principal(self, connection: HTTPConnection) -> Principal:
        return self._principal

    def view(self, principal: Principal) -> View:
        return EVERYTHING


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
        self._clock = access.clock

    def view(self, principal: Principal) -> View:
        if principal.role != Role.GUEST.value:
            return EVERYTHING
        return View(self._members, self._clock, principal.member)

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


class TrustedProxies:
    """The reverse proxies whose ``X-Forwarded-For`` is believed: addresses or networks."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def _trusted(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self._networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client a request from ``peer`` comes from, given its ``X-Forwarded-For``
        headers: ``peer`` itself unless it is a trusted proxy; else the nearest address in
        the header that is not one (each proxy appends the address it was reached from, so
        the entries to the left of the first stranger are the stranger's to write)."""
        if not self._networks or not self._trusted(peer):
            return peer
        hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
            if not self._trusted(hop):
                return hop if _ip(hop) is not None else peer
        return peer


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def client_address(connection: HTTPConnection) -> str:
    """Where a request comes from (see ``TrustedProxies``); ``unknown`` if the server did not say."""
    found = connection.scope.get("state", {}).get("address")
    if isinstance(found, str):
        return found
    return connection.client.host if connection.client is not None else "unknown"


class View:
    """What a principal may read: everything in their home, or — for a guest — what their
    live grants name, looked up afresh at each question (a grant that ends or is withdrawn
    stops showing its devices at once, on a live WebSocket too)."""

    def __init__(self, members: Members | None = None, clock: Clock | None = None, member: str = "") -> None:
        self._members = members
        self._clock = clock
        self._member = member

    @property
    def everything(self) -> bool:
        """True for owners, family and an app without access control."""
        return self._members is None

    def _guest(self) -> Member | None:
        return None if self._members is None else self._members.get(self._member)

    def sees(self, device: str) -> bool:
        """Whether the principal may see ``device`` of their home at all."""
        if self._members is None or self._clock is None:
            return True
        guest = self._guest()
        return guest is not None and guest.sees(device, self._clock.time())

    def sees_property(self, device: str, prop: str) -> bool:
        """Whether the principal may read ``prop`` of ``device`` (a location needs naming)."""
        if self._members is None or self._clock is None:
            return True
        guest = self._guest()
        return guest is not None and guest.sees(device, self._clock.time(), prop)

    def sees_either(self, device: str, prop: str | None) -> bool:
        """``sees`` for ``prop`` None, else ``sees_property``."""
        return self.sees(device) if prop is None else self.sees_property(device, prop)

    def sees_location(self, device: str) -> bool:
        """Whether the principal may see where ``device`` is (or was: trips, charges)."""
        return self.sees_property(device, LOCATION)


EVERYTHING: Final = View()


def view_of(connection: HTTPConnection) -> View:
    """The ``View`` of the principal ``RequireLogin`` found for this request."""
    found = connection.scope.get("state", {}).get("view")
    return found if isinstance(found, View) else EVERYTHING


class RequireLogin:
    """ASGI middleware: every HTTP request under ``/api/`` but ``OPEN_PATHS`` needs a valid
    token, whatever route serves it — so a route added later cannot forget to ask. It also
    notes where each request comes from (``client_address``) and what its member may read
    (``view_of``)."""

    def __init__(self, app: ASGIApp, auth: Authenticator, proxies: TrustedProxies | None = None) -> None:
        self._app = app
        self._auth = auth
        self._proxies = proxies or TrustedProxies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket"):
            connection = HTTPConnection(scope)
            peer = connection.client.host if connection.client is not None else "unknown"
            forwarded = connection.headers.getlist("x-forwarded-for")
            scope.setdefault("state", {})["address"] = self._proxies.client(peer, forwarded)
        if scope["type"] == "http" and path.startswith("/api/") and path not in OPEN_PATHS:
            try:
                principal = self._auth.principal(HTTPConnection(scope))
            except Problem as problem:
                await problem.response()(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["principal"] = principal
            state["view"] = self._auth.view(principal)
        await self._app(scope, receive, send)
