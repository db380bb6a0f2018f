"""The automations part of the local API: list them, check a file, read a run's traces.

``automation_routes(hub, engine)`` returns Starlette routes to add to the local app:

- ``GET /api/automations``: every loaded automation with its mode and run counts;
- ``POST /api/automations/check``: ``{"text": …, "file": …}`` → the errors, with file and
  line, of the automations in the text, checked against this hub (nothing is loaded);
- ``GET /api/automations/{id}/traces``: the latest runs of one automation, oldest first.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from carhome.api.bodies import decode_body, json_response
from carhome.api.problems import Problem
from carhome.automations import Engine, Trace
from carhome.hub import Hub

_MAX_TEXT = 1024 * 1024


class AutomationOut(msgspec.Struct, kw_only=True):
    id: str
    alias: str
    home: str | None
    mode: str
    enabled: bool
    file: str
    line: int | None
    firings: int
    dropped: int
    active: int
    queued: int


class CheckRequest(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    file: str = "<api>"


class CheckError(msgspec.Struct):
    file: str | None
    line: int | None
    message: str


class CheckResult(msgspec.Struct):
    errors: list[CheckError]


class TraceList(msgspec.Struct):
    automation: str
    traces: list[Trace]


def automation_routes(hub: Hub, engine: Engine) -> list[Route]:
    """The routes, over ``engine`` (which runs the automations of ``hub``)."""

    async def listing(request: Request) -> Response:
        out = []
        for automation in engine.automations():
            source, stats = engine.source(automation.id), engine.stats(automation.id)
            out.append(
                AutomationOut(
                    id=automation.id,
                    alias=automation.alias,
                    home=automation.home,
                    mode=automation.mode,
                    enabled=automation.enabled,
                    file=source.file,
                    line=source.line,
                    **stats,
                )
            )
        return json_response(out)

    async def check(request: Request) -> Response:
        asked = await decode_body(request, CheckRequest, limit=_MAX_TEXT)
        errors = await engine.check_text(asked.text, asked.file)
        return json_response(CheckResult([CheckError(e.file, e.line, e.reason) for e in errors]))

    async def traces(request: Request) -> Response:
        automation_id = request.path_params["id"]
        if automation_id not in {a.id for a in engine.automations()}:
            known = ", ".join(sorted(a.id for a in engine.automations())) or "none"
            raise Problem(
                404,
                "unknown-automation",
                "No such automation",
                f"no automation {automation_id!r} is loaded; loaded: {known}",
            )
        return json_response(TraceList(automation_id, engine.trace(automation_id)))

    return [
        Route("/api/automations", listing, methods=["GET"]),
        Route("/api/automations/check", check, methods=["POST"]),
        Route("/api/automations/{id}/traces", traces, methods=["GET"]),
    ]
