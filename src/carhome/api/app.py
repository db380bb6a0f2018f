"""The local HTTP API's app: the hub's operations and the parts' over one hub, behind the login check.

``create_app`` builds the Starlette app; every route under ``/api/`` is an operation's
(``carhome.api.operations``), and every error becomes a problem-details body
(``carhome.api.problems``): carhome's errors, Starlette's 404 and 405, and the problems the
handlers raise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from carhome.access.service import Access
from carhome.api import local, openapi, problems
from carhome.api.auth import Authenticator, Bearer, Fixed, RequireLogin, TrustedProxies, auth_routes
from carhome.api.live import LiveHub, live_routes
from carhome.api.local import HealthCheck, HubRoutes
from carhome.api.members import member_routes
from carhome.api.operations import routes as operation_routes
from carhome.api.problems import Problem
from carhome.api.say import say_routes
from carhome.errors import CarhomeError
from carhome.hub import Hub

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
    access: Access | None = None,
    trusted_proxies: Iterable[str] = (),
    health: Sequence[HealthCheck] = (),
) -> Starlette:
    """The API over ``hub``: with ``access``, for logged-in members (bearer tokens) and
    their homes; without it, every request acts for ``member`` and sees every home.
    ``trusted_proxies`` are the reverse proxies whose ``X-Forwarded-For`` is believed;
    ``health`` are asked on every ``/api/health``: each says what is wrong, or ``None``.

    The parts that need more than the hub (automations, charging, history, keys) add their
    routes to ``app.router.routes`` (``automation_routes`` …); every route under ``/api/``
    is an operation's (``carhome.api.operations``)."""
    auth: Authenticator = Bearer(access) if access is not None else Fixed(member)
    routes = operation_routes(local.OPERATIONS, HubRoutes(hub, auth, health, openapi.document_bytes))
    live = LiveHub(hub, auth, access.tokens if access is not None else None)
    routes.extend(live_routes(live))
    routes.extend(say_routes(hub))
    if access is not None:
        routes.extend(auth_routes(access))
        routes.extend(member_routes(access))
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
