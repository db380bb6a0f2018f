"""The hub's own operations: health, homes, devices, commands, rejections, the description.

``OPERATIONS`` declares them beside their handlers (``carhome.http.operations``); the app
(``carhome.api.app.create_app``) serves them over a running ``Hub``. Handlers decode their
input into the structs of ``carhome.wire`` (unknown keys rejected), call the hub, and
render what it returns; they hold no domain logic. Every error is a problem-details body
(``carhome.http.problems``).

Who is asking: every request but ``/api/health`` is made by a member. With ``access``
(the hub's ``carhome.access.service.Access``) each request needs a bearer token
(``carhome.api.auth``), sees only its member's home — a guest only the devices their
live grants name (``carhome.api.auth.View``) — and every command goes through the
gatekeeper as that member; without it the app acts for one fixed member (``member``) and
sees every home — for tests and for code embedding a hub that decided who acts already.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from carhome.errors import CommandTimeout, DuplicateCommand, InvalidCommand, UnknownDevice
from carhome.http import idempotency, problems
from carhome.http.bodies import decode_body, decode_query, json_response
from carhome.http.operations import Operation
from carhome.http.principals import Authenticator, Principal, View
from carhome.http.problems import Problem
from carhome.hub import Command, Hub, derived_id
from carhome.hub.rejections import HUB_WIDE
from carhome.wire.commands import CommandList, CommandRequest, CommandsQuery, WaitQuery
from carhome.wire.devices import (
    DeviceDetail,
    DeviceOut,
    DevicesQuery,
    HomeOut,
    render_device,
    render_home,
    render_spec,
)
from carhome.wire.health import Health
from carhome.wire.rejections import RejectionOut, Rejections

log: Final = logging.getLogger(__name__)

# How many of the most recent rejections /api/rejections shows with their messages.
LAST_REJECTIONS: Final = 20
# How far back GET /api/commands/{id} looks in the store for a command the router forgot.
_STORE_LOOKBACK: Final = 1000

# Words for allowed values msgspec's messages leave out.
_BODY_ALLOWED: Final = {"$.kind": "'set' (write a property) or 'action' (run an action)"}

PATH: Final = "/api/openapi.json"
"""Where the description of the API (``carhome.api.openapi``) is served."""

HealthCheck = Callable[[], str | None]
"""What is wrong with the hub now, in words, or ``None``."""


class HubRoutes:
    """The handlers, bound to one hub and to the way a request's member is found;
    ``describe`` gives the API's description (``carhome.api.openapi.document``)."""

    def __init__(
        self,
        hub: Hub,
        auth: Authenticator,
        health: Sequence[HealthCheck] = (),
        describe: Callable[[], bytes] = bytes,
    ) -> None:
        self.hub = hub
        self._auth = auth
        self._health = tuple(health)
        self._describe = describe

    def principal(self, request: Request) -> Principal:
        """Who is asking (a 401 problem if nobody is)."""
        return self._auth.principal(request)

    def who(self, request: Request) -> str:
        """The member a request acts for."""
        return self.principal(request).member

    def view(self, principal: Principal) -> View:
        """What ``principal`` may read."""
        return self._auth.view(principal)

    def _homes(self, principal: Principal) -> list[str]:
        """The homes ``principal`` may see."""
        known = [h.id for h in self.hub.homes()]
        return known if principal.home is None else [h for h in known if h == principal.home]

    def _check_home(self, home: str, principal: Principal) -> None:
        known = self._homes(principal)
        if home not in known:
            raise problems.unknown_home(home, known)

    async def health(self, request: Request) -> Response:
        """Answers without credentials: whether the hub runs and hears its devices, and
        nothing about its homes."""
        hub = self.hub
        found = tuple(p for p in (check() for check in self._health) if p is not None)
        return json_response(
            Health(
                status="degraded" if found else "ok",
                time=hub.clock.time(),
                homes=len(hub.homes()),
                devices=len(hub.devices()),
                pending_commands=len(hub.commands.pending()),
                problems=found,
            )
        )

    async def homes(self, request: Request) -> Response:
        principal = self.principal(request)
        visible = set(self._homes(principal))
        view = self.view(principal)
        counts: dict[str, int] = {}
        for device in self.hub.devices():
            if view.sees(device.id):
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
        view = self.view(principal)
        return json_response(
            [render_device(d, hub.available(d.home, d.id)) for d in hub.devices(home) if view.sees(d.id)]
        )

    def _visible_device(self, request: Request) -> tuple[str, str]:
        """The path's home and device, a 404 unless both exist and the member's home is it
        (whether they may act on it is the gatekeeper's to say)."""
        home, device = request.path_params["home"], request.path_params["device"]
        principal = self.principal(request)
        if principal.home is not None and home != principal.home:
            raise problems.unknown_home(home, self._homes(principal))
        view = self.view(principal)
        try:
            self.hub.device(home, device)
        except UnknownDevice:
            if view.everything:
                raise
            # a guest is not told the names of the devices they may not see
            raise problems.problem_from(UnknownDevice(home, device, self._seen(home, view))) from None
        return home, device

    def _seen(self, home: str, view: View) -> list[str]:
        return [d.id for d in self.hub.devices(home) if view.sees(d.id)]

    async def device(self, request: Request) -> Response:
        home, device = self._visible_device(request)
        view = self.view(self.principal(request))
        if not view.sees(device):
            raise problems.problem_from(UnknownDevice(home, device, self._seen(home, view)))
        hub = self.hub
        dev = hub.device(home, device)
        state = hub.state(home, device)
        return json_response(
            DeviceDetail(
                device=render_device(dev, hub.available(home, device)),
                spec=render_spec(hub.spec(home, device)),
                state=state
                if view.everything
                else {p: v for p, v in state.items() if view.sees_property(device, p)},
                now=hub.clock.time(),
            )
        )

    async def submit(self, request: Request) -> Response:
        home, device = self._visible_device(request)  # a 404 whatever the body says
        key = idempotency.key_of(request)
        req = await decode_body(request, CommandRequest, allowed=_BODY_ALLOWED)
        member = self.who(request)
        # With a key, the id is the member's and the key's: a retry finds the first command.
        command_id = None if key is None else derived_id("api", member, key)
        try:
            command = await self.hub.submit(
                home,
                device,
                req.kind,
                req.target,
                req.args,
                member=member,
                face="api",
                ttl=req.ttl,
                command_id=command_id,
            )
        except DuplicateCommand:
            if key is None or command_id is None:  # pragma: no cover - a random id is never taken
                raise
            command = await self._made_before(command_id, key, (home, device), req, member)
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

    async def _made_before(
        self, command_id: str, key: str, where: tuple[str, str], req: CommandRequest, member: str
    ) -> Command:
        """The command an earlier request with the same idempotency key made, if it asked
        for the same thing (a 422 problem if not)."""
        home, device = where
        made = self.hub.commands.get(command_id) or await self.hub.store.outbox_get(command_id)
        if made is None:  # pragma: no cover - a taken id is pending, recent or stored
            raise problems.problem_from(DuplicateCommand(command_id))
        asked = self.hub.commands.make(
            home=home,
            device=device,
            kind=req.kind,
            target=req.target,
            args=req.args,
            member=member,
            face="api",
        )  # the arguments as the first request's were checked and stored
        differs = [
            name
            for name, first, now in (
                ("device", (made.home, made.device), (home, device)),
                ("kind", made.kind, req.kind),
                ("target", made.target, req.target),
                ("args", made.args, asked.args),
                ("ttl", round(made.expires - made.created, 6), round(req.ttl, 6)),
                ("member", made.member, member),
            )
            if first != now
        ]
        if differs:
            raise idempotency.reused(key, f"command {command_id} differs in {', '.join(differs)}")
        return made

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
        if command is None or not _shows(principal, self.view(principal), command):
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
        view = self.view(principal)
        stored = await self.hub.store.commands(home, query.limit)
        # The outbox is written behind the router; the router's copy is never older.
        live = self.hub.commands.get
        shown = tuple(live(c.id) or c for c in stored if _shows(principal, view, c))
        return json_response(CommandList(commands=shown, now=self.hub.clock.time()))

    async def openapi(self, request: Request) -> Response:
        """The description of the whole API (``carhome.api.openapi``), for tools and people."""
        self.principal(request)
        return Response(self._describe(), media_type="application/json")

    async def rejections(self, request: Request) -> Response:
        principal = self.principal(request)
        view = self.view(principal)
        seen = self.hub.rejections
        # Another home's (or, for a guest, another device's) rejected values are not theirs to read.
        mine = [
            e
            for e in seen.last
            if (principal.sees(e.home) and view.sees(e.device)) or (e.home == HUB_WIDE and view.everything)
        ]
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
            for e in reversed(mine[-LAST_REJECTIONS:])
        )
        return json_response(Rejections(total=seen.total, counts=dict(seen.counts.most_common()), last=last))


def _shows(principal: Principal, view: View, command: Command) -> bool:
    """Whether ``principal`` may read ``command``: one of their home, on a device they see
    (a guest's own commands stay theirs to follow)."""
    if not principal.sees(command.home):
        return False
    return view.sees(command.device) or command.member == principal.member


_LOCATION: Final = {"Location": "Where the command's state can be read again"}
_DEVICE_PROBLEMS: Final = (403, 404, 503)

OPERATIONS: Final[tuple[Operation[HubRoutes], ...]] = (
    Operation(
        "GET",
        "/api/health",
        HubRoutes.health,
        "Whether the hub runs (no credentials)",
        "hub",
        {200: Health},
        open=True,
    ),
    Operation("GET", PATH, HubRoutes.openapi, "This description (OpenAPI 3.1)", "hub", {200: dict[str, Any]}),
    Operation(
        "GET", "/api/homes", HubRoutes.homes, "The homes this member sees", "hub", {200: list[HomeOut]}
    ),
    Operation(
        "GET",
        "/api/devices",
        HubRoutes.devices,
        "Devices, of one home or all",
        "hub",
        {200: list[DeviceOut]},
        DevicesQuery,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/devices/{home}/{device}",
        HubRoutes.device,
        "One device: what it is, offers and reports",
        "hub",
        {200: DeviceDetail},
        problems=(404,),
    ),
    Operation(
        "POST",
        "/api/devices/{home}/{device}/commands",
        HubRoutes.submit,
        "Send a command (set a property or run an action)",
        "hub",
        {200: Command, 202: Command},
        body=CommandRequest,
        problems=_DEVICE_PROBLEMS,
        description=(
            "200 when the command ended within `wait`, else 202 (it is queued or sent). With an"
            " `Idempotency-Key`, a retry answers with the command the first request made."
        ),
        headers={200: _LOCATION, 202: _LOCATION},
        request_headers={idempotency.HEADER: idempotency.PARAMETER},
    ),
    Operation(
        "GET",
        "/api/commands",
        HubRoutes.commands,
        "Recent commands, newest first",
        "hub",
        {200: CommandList},
        CommandsQuery,
        problems=(404, 503),
    ),
    Operation(
        "GET",
        "/api/commands/{id}",
        HubRoutes.command,
        "One command (optionally wait for its result)",
        "hub",
        {200: Command},
        WaitQuery,
        problems=(404, 503),
    ),
    Operation(
        "GET",
        "/api/rejections",
        HubRoutes.rejections,
        "Reported values the hub rejected",
        "hub",
        {200: Rejections},
    ),
)
