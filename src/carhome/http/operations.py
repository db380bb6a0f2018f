"""Each HTTP operation of the API declared once: the route, the login check and the description.

An ``Operation`` says everything about one route: its method and path, the handler that
serves it, a summary and tag, the structs of its query and body (``carhome.wire``), the
struct it answers with per status, the problems it may answer with, and whether it is
``open`` (answers without a token). Each module of ``carhome.api`` declares its operations
beside their handlers, in a tuple; from those declarations

- ``routes`` makes the Starlette routes an app serves (an ``OperationRoute`` keeps its
  operation),
- ``RequireLogin`` (``carhome.api.auth``) lets a request through without a token only when
  the route that will serve it is an open operation's,
- ``carhome.api.openapi`` writes the OpenAPI description.

So a route cannot be served undescribed, described but not served, or open without
saying so.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

_H = TypeVar("_H")
_PARAM: Final = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True, slots=True)
class Operation(Generic[_H]):
    """One HTTP operation: what serves it, what it takes and what it answers.

    ``handler`` is a method of the routes object the module's app part is made of (``_H``),
    called with it and the request. ``query`` and ``body`` are msgspec structs (each field
    of ``query`` but those in ``query_except`` is one query parameter); path parameters are
    the ``{names}`` of ``path`` (strings). ``responses`` maps a success status to what its
    body is (a type msgspec can describe, or None for no body). ``problems`` are the error
    statuses besides 401 (which every operation but the ``open`` ones has), 422 (which every
    operation with a query, a body or a path parameter has) and 413 (every one with a body).
    """

    method: str
    path: str
    handler: Callable[[_H, Request], Awaitable[Response]]
    summary: str
    tag: str
    responses: Mapping[int, Any]
    query: type | None = None
    query_except: tuple[str, ...] = ()
    body: type | None = None
    problems: tuple[int, ...] = ()
    open: bool = False
    description: str = ""
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    request_headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Optional request headers it reads: name → its OpenAPI parameter (description, schema)."""

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def problem_statuses(self) -> list[int]:
        statuses = set(self.problems)
        if not self.open:
            statuses.add(401)
        if self.query is not None or self.body is not None or self.path_params:
            statuses.add(422)
        if self.body is not None:
            statuses.add(413)
        return sorted(statuses)


class OperationRoute(Route):
    """A Starlette route made from its ``Operation`` (kept as ``operation``)."""

    def __init__(self, operation: Operation[Any], endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(operation.path, endpoint, methods=[operation.method])
        self.operation = operation


def routes(operations: Iterable[Operation[_H]], handlers: _H) -> list[BaseRoute]:
    """The routes serving ``operations``, each calling its handler on ``handlers``."""
    return [OperationRoute(op, _endpoint(op, handlers)) for op in operations]


def _endpoint(op: Operation[_H], handlers: _H) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await op.handler(handlers, request)

    endpoint.__name__ = getattr(op.handler, "__name__", "endpoint")
    return endpoint


def serving(routes: Iterable[BaseRoute], scope: Scope) -> Operation[Any] | None:
    """The operation whose route will answer ``scope``, as Starlette's router picks it: the
    first route matching path and method, else the first matching the path only (which
    answers 405); None when no operation's route does (a 404, or another kind of route)."""
    partial: BaseRoute | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.operation if isinstance(route, OperationRoute) else None
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial.operation if isinstance(partial, OperationRoute) else None
