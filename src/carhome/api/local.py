"""The local HTTP API: what the CLI (and scripts on the same machine) use to reach a hub.

``create_app`` builds a Starlette app over a running ``Hub``. Routes decode their input
into the structs of ``carhome.api.schema`` (unknown keys rejected), call the hub, and
render what it returns; they hold no domain logic. Every error is a problem-details body
(``carhome.api.problems``).

Who is asking: every request but ``/api/health`` is made by a member. With ``access``
(the hub's ``carhome.access.service.Access``) each request needs a bearer token
(``carhome.api.auth``), sees only its member's home, and every command goes through the
gatekeeper as that member; without it the app acts for one fixed member (``member``) and
sees every home — for tests and for code embedding a hub that decided who acts already.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from carhome.access.service import Access
from carhome.api import openapi, problems
from carhome.api.auth import Authenticator, Bearer, Fixed, Principal, RequireLogin, auth_routes
from carhome.api.bodies import decode_body, decode_query, json_response
from carhome.api.live import LiveHub, live_routes
from carhome.api.members import member_routes
from carhome.api.problems import Problem
from carhome.api.say import say_routes
from carhome.api.schema import (
    CommandList,
    CommandRequest,
    CommandsQuery,
    DeviceDetail,
    DevicesQuery,
    Health,
    RejectionOut,
    Rejections,
    WaitQuery,
    render_device,
    render_home,
    render_spec,
)
from carhome.errors import CarhomeError, CommandTimeout, DuplicateCommand, InvalidCommand
from carhome.hub import Command, Hub

log: Final = logging.getLogger(__name__)

# How many of the most recent rejections /api/rejections shows with their messages.
LAST_REJECTIONS: Final = 20
# How far back GET /api/commands/{id} looks in the store for a command the router forgot.
_STORE_LOOKBACK: Final = 1000

# Words for allowed values msgspec's messages leave out.
_BODY_ALLOWED: Final = {"$.kind": "'set' (write a property) or 'action' (run an action)"}

_Handler = Callable[[Request], Awaitable[Response]]


class _Routes:
    """The handlers, bound to one hub and to the way a request's member is found."""

    def __init__(self, hub: Hub, auth: Authenticator) -> None:
        self.hub = hub
        self._auth = auth

    def principal(self, request: Request) -> Principal:
        """Who is asking (a 401 problem if nobody is)."""
        return self._auth.principal(request)

    def who(self, request: Request) -> str:
        """The member a request acts for."""
        return self.principal(request).member

    def _homes(self, principal: Principal) -> list[str]:
        """The homes ``principal`` may see."""
        known = [h.id for h in self.hub.homes()]
        return known if principal.home is None else [h for h in known if h == principal.home]

    def _check_home(self, home: str, principal: Principal) -> None:
        known = self._homes(principal)
        if home not in known:
            raise problems.unknown_home(home, known)

    async def health(self, request: Request) -> Response:
        """Answers without credentials: whether the hub runs, and nothing about its homes."""
        hub = self.hub
        return json_response(
            Health(
                status="ok",
                time=hub.clock.time(),
                homes=len(hub.homes()),
                devices=len(hub.devices()),
                pending_commands=len(hub.commands.pending()),
            )
        )

    async def homes(self, request: Request) -> Response:
        visible = set(self._homes(self.principal(request)))
        counts: dict[str, int] = {}
        for device in self.hub.devices():
            counts[device.home] = counts.get(device.home, 0) + 1
        return json_response(
            [render_home(h, counts.get(h.id, 0)) for h in self.hub.homes() if h.id in visible]
        )

    async def devices(self, request: Request) -> Response:
        principal = self.principal(request)
        query = decode_query(request, DevicesQuery)
        if query.home is not None:
            self._check_home(query.home, principal)
        hub = self.hub
        home = query.home if query.home is not None else principal.home
        return json_response([render_device(d, hub.available(d.home, d.id)) for d in hub.devices(home)])

    def _visible_device(self, request: Request) -> tuple[str, str]:
        """The path's home and device, a 404 unless both exist and the member may see them."""
        home, device = request.path_params["home"], request.path_params["device"]
        principal = self.principal(request)
        if principal.home is not None and home != principal.home:
            raise problems.unknown_home(home, self._homes(principal))
        self.hub.device(home, device)
        return home, device

    async def device(self, request: Request) -> Response:
        home, device = self._visible_device(request)
        hub = self.hub
        dev = hub.device(home, device)
        return json_response(
            DeviceDetail(
                device=render_device(dev, hub.available(home, device)),
                spec=render_spec(hub.spec(home, device)),
                state=hub.state(home, device),
                now=hub.clock.time(),
            )
        )

    async def submit(self, request: Request) -> Response:
        home, device = self._visible_device(request)  # a 404 whatever the body says
        req = await decode_body(request, CommandRequest, allowed=_BODY_ALLOWED)
        try:
            command = await self.hub.submit(
                home,
                device,
                req.kind,
                req.target,
                req.args,
                member=self.who(request),
                face="api",
                ttl=req.ttl,
            )
        except InvalidCommand as exc:
            problem = problems.problem_from(exc)
            problem.fields["kind"] = req.kind
            if req.kind == "set":
                problem.fields["property"] = req.target
            else:
                problem.fields["action"] = req.target
            raise problem from None
        if req.wait:
            command = await self._wait(command, req.wait)
        return json_response(
            command, 200 if command.status.final else 202, headers={"Location": f"/api/commands/{command.id}"}
        )

    async def _wait(self, command: Command, seconds: float) -> Command:
        try:
            return await self.hub.commands.wait(command.id, seconds)
        except CommandTimeout:
            return command

    async def command(self, request: Request) -> Response:
        principal = self.principal(request)
        command_id = request.path_params["id"]
        query = decode_query(request, WaitQuery)
        command = self.hub.commands.get(command_id)
        if command is None:
            # Forgotten by the router (the hub restarted): the outbox still has it.
            # TODO(kernel): Store.command(id) would make this a lookup instead of a scan.
            stored = await self.hub.store.commands(limit=_STORE_LOOKBACK)
            command = next((c for c in stored if c.id == command_id), None)
        if command is None or (principal.home is not None and command.home != principal.home):
            raise Problem(
                404,
                "unknown-command",
                "Unknown command",
                f"there is no command {command_id!r} (it may be older than the last {_STORE_LOOKBACK})",
                command=command_id,
            )
        if query.wait and not command.status.final:
            command = await self._wait(command, query.wait)
        return json_response(command)

    async def commands(self, request: Request) -> Response:
        principal = self.principal(request)
        query = decode_query(request, CommandsQuery)
        if query.home is not None:
            self._check_home(query.home, principal)
        home = query.home if query.home is not None else principal.home
        stored = await self.hub.store.commands(home, query.limit)
        # The outbox is written behind the router; the router's copy is never older.
        live = self.hub.commands.get
        return json_response(
            CommandList(commands=tuple(live(c.id) or c for c in stored), now=self.hub.clock.time())
        )

    async def openapi(self, request: Request) -> Response:
        """The description of the whole API (``carhome.api.openapi``), for tools and people."""
        self.principal(request)
        return Response(openapi.document_bytes(), media_type="application/json")

    async def rejections(self, request: Request) -> Response:
        self.principal(request)
        seen = self.hub.rejections
        last = tuple(
            RejectionOut(
                home=e.home,
                device=e.device,
                property=e.prop,
                code=e.code,
                reason=e.reason,
                allowed=e.allowed,
                message=str(e),
            )
            for e in reversed(seen.last[-LAST_REJECTIONS:])
        )
        return json_response(Rejections(total=seen.total, counts=dict(seen.counts.most_common()), last=last))


# -- error rendering -------------------------------------------------------------------


async def _on_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, Problem):  # pragma: no cover - registered for Problem only
        raise exc
    return exc.response()


async def _on_carhome_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, CarhomeError):  # pragma: no cover - registered for CarhomeError only
        raise exc
    if isinstance(exc, DuplicateCommand):
        # whichever face brought it (a signed command carries its own id): a conflict
        return Problem(
            409, "duplicate-id", "Duplicate command id", str(exc), command=exc.command_id
        ).response()
    problem = problems.problem_from(exc)
    if problem.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return problem.response()


async def _on_http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException only
        raise exc
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no such endpoint {request.url.path}; the API lives under /api"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    problem = Problem(exc.status_code, slug, exc.detail, detail)
    problem.headers.update(exc.headers or {})  # 405 keeps its Allow header
    return problem.response()


def create_app(hub: Hub, *, member: str = "local", access: Access | None = None) -> Starlette:
    """The API over ``hub``: with ``access``, for logged-in members (bearer tokens) and
    their homes; without it, every request acts for ``member`` and sees every home."""
    auth: Authenticator = Bearer(access) if access is not None else Fixed(member)
    r = _Routes(hub, auth)
    table: list[tuple[str, _Handler, list[str]]] = [
        ("/api/health", r.health, ["GET"]),
        ("/api/homes", r.homes, ["GET"]),
        ("/api/devices", r.devices, ["GET"]),
        ("/api/devices/{home}/{device}", r.device, ["GET"]),
        ("/api/devices/{home}/{device}/commands", r.submit, ["POST"]),
        ("/api/commands", r.commands, ["GET"]),
        ("/api/commands/{id}", r.command, ["GET"]),
        ("/api/rejections", r.rejections, ["GET"]),
        (openapi.PATH, r.openapi, ["GET"]),
    ]
    routes: list[BaseRoute] = [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]
    live = LiveHub(hub, auth, access.tokens if access is not None else None)
    routes.extend(live_routes(live))
    routes.extend(say_routes(hub))
    if access is not None:
        routes.extend(auth_routes(access))
        routes.extend(member_routes(access))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequireLogin, auth=auth)],
        exception_handlers={
            Problem: _on_problem,
            CarhomeError: _on_carhome_error,
            HTTPException: _on_http_error,
        },
    )
    app.state.live = live
    return app
