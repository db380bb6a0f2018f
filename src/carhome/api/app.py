"""The local HTTP API's app: the hub's operations and the parts' over one hub, behind the login check.

``create_app`` builds the Starlette app; every route under ``/api/`` is an operation's
(``carhome.http.operations``), and every error becomes a problem-details body
(``carhome.http.problems``): carhome's errors, Starlette's 404 and 405, and the problems the
handlers raise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from carhome.api import local, openapi
from carhome.api.auth import RequireLogin, TrustedProxies
from carhome.api.live import LiveHub, live_routes
from carhome.api.local import HealthCheck, HubRoutes
from carhome.errors import CarhomeError
from carhome.http import problems
from carhome.http.operations import Operation
from carhome.http.operations import routes as operation_routes
from carhome.http.principals import Authenticator, Fixed
from carhome.http.problems import Problem
from carhome.hub import Hub
from carhome.parts.access import AccessControl

log: Final = logging.getLogger(__name__)


async def _on_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, Problem):  # pragma: no cover - registered for Problem only
        raise exc
    return exc.response()


async def _on_carhome_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, CarhomeError):  # pragma: no cover - registered for CarhomeError only
        raise exc
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


def create_app(
    hub: Hub,
    *,
    member: str = "local",
    access: AccessControl | None = None,
    trusted_proxies: Iterable[str] = (),
    health: Sequence[HealthCheck] = (),
    described: Sequence[Operation[Any]] | None = None,
) -> Starlette:
    """The API over ``hub``: with ``access``, for logged-in members (bearer tokens) and
    their homes; without it, every request acts for ``member`` and sees every home.
    ``trusted_proxies`` are the reverse proxies whose ``X-Forwarded-For`` is believed;
    ``health`` are asked on every ``/api/health``: each says what is wrong, or ``None``;
    ``described`` are the operations ``/api/openapi.json`` lists (the composition passes
    every part's; by default the API's own).

    The parts that need more than the hub (automations, charging, history, keys, say) add
    their routes to ``app.router.routes`` (``carhome.parts.RouteSink``); every route under
    ``/api/`` is an operation's (``carhome.http.operations``)."""
    auth: Authenticator = access.authenticator() if access is not None else Fixed(member)
    own: list[Operation[Any]] = [*local.OPERATIONS]
    if access is not None:
        own.extend(access.operations())
    document = openapi.document(tuple(described) if described is not None else tuple(own))
    routes = operation_routes(local.OPERATIONS, HubRoutes(hub, auth, health, lambda: document))
    live = LiveHub(hub, auth, access)
    routes.extend(live_routes(live))
    if access is not None:
        routes.extend(access.http_routes())
    app = Starlette(
        routes=routes,
        exception_handlers={
            Problem: _on_problem,
            CarhomeError: _on_carhome_error,
            HTTPException: _on_http_error,
        },
    )
    # the login check asks the app's routes, those added later too, which are open
    app.add_middleware(RequireLogin, auth=auth, proxies=TrustedProxies(trusted_proxies), router=app.router)
    app.state.live = live
    return app
