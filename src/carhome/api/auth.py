"""The login check in front of every API route, and where a request comes from.

Every route but ``/api/health`` and ``/api/auth/*`` needs a principal: ``RequireLogin``
asks the hub's ``Authenticator`` (access control's bearer tokens, or ``Fixed`` without it)
before any route runs, so a route added later cannot forget to ask.

Where a request comes from (what the login throttle counts, what "only on loopback"
means) is the connection's peer, unless that peer is one of the ``TrustedProxies``
(``api.trusted_proxies``): then it is the client its ``X-Forwarded-For`` names. From
anyone else the header is ignored, so a process on the hub's machine cannot pose as a
thousand addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from starlette.requests import HTTPConnection
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from carhome.http.operations import serving
from carhome.http.principals import Authenticator
from carhome.http.problems import Problem

MAX_FORWARDED_HOPS: Final = 16


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


class RequireLogin:
    """ASGI middleware: every HTTP request under ``/api/`` needs a valid token, whatever
    route serves it — so a route added later cannot forget to ask — unless the route of
    ``router`` that will answer it is an operation declared ``open`` (health, logging in;
    ``carhome.http.operations``). The WebSocket authenticates with its first frame. It also
    notes where each request comes from (``client_address``) and what its member may read
    (``view_of``)."""

    def __init__(
        self,
        app: ASGIApp,
        auth: Authenticator,
        proxies: TrustedProxies | None = None,
        router: Router | None = None,
    ) -> None:
        self._app = app
        self._auth = auth
        self._proxies = proxies or TrustedProxies()
        self._router = router

    def _open(self, scope: Scope) -> bool:
        if self._router is None:
            return False
        operation = serving(self._router.routes, scope)
        return operation is not None and operation.open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket"):
            connection = HTTPConnection(scope)
            peer = connection.client.host if connection.client is not None else "unknown"
            forwarded = connection.headers.getlist("x-forwarded-for")
            scope.setdefault("state", {})["address"] = self._proxies.client(peer, forwarded)
        if scope["type"] == "http" and path.startswith("/api/") and not self._open(scope):
            try:
                principal = self._auth.principal(HTTPConnection(scope))
            except Problem as problem:
                await problem.response()(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["principal"] = principal
            state["view"] = self._auth.view(principal)
        await self._app(scope, receive, send)
