"""Request bodies and queries in, JSON out, the same for every route.

``decode_body`` reads a body up to a limit (refused with 413 as soon as it grows past it,
before it is all in memory) and decodes it into a struct; a malformed or invalid body, or
one nested deeper than ``carhome.nesting.MAX_DEPTH`` levels, is a 422 problem naming the
field (``carhome.http.problems``); ``decode_query`` does the same for the query string.
``json_response`` renders a value. Every JSON body of the API is decoded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from carhome.http import problems
from carhome.http.problems import Problem
from carhome.nesting import MAX_DEPTH, deeper_than

MAX_BODY: Final = 64 * 1024

_T = TypeVar("_T")


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        msgspec.json.encode(value), status_code=status, headers=headers, media_type="application/json"
    )


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Problem(
                413,
                "too-large",
                "Content too large",
                f"the request body is larger than {limit} bytes",
                limit=limit,
            )
    return bytes(body)


def decode(body: bytes, kind: type[_T], *, allowed: Mapping[str, str] | None = None) -> _T:
    """``body`` as a ``kind``, or a 422 problem that names the field and says why."""
    try:
        value = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise problems.from_validation(exc, allowed=allowed) from None
    except msgspec.DecodeError as exc:
        raise problems.invalid_body(f"not valid JSON ({exc})") from None
    except RecursionError:  # deeper than msgspec goes
        raise _too_deep() from None
    if deeper_than(body, value):
        raise _too_deep()
    return value


def _too_deep() -> Problem:
    return problems.invalid_body(f"the JSON nests deeper than {MAX_DEPTH} levels; flatten it")


async def decode_body(
    request: Request, kind: type[_T], *, limit: int = MAX_BODY, allowed: Mapping[str, str] | None = None
) -> _T:
    """Read (up to ``limit``) and decode the request's body (see ``decode``)."""
    return decode(await read_body(request, limit), kind, allowed=allowed)


def decode_query(request: Request, kind: type[_T]) -> _T:
    """The query string as a ``kind``, or a 422 problem naming the parameter."""
    try:
        return msgspec.convert(dict(request.query_params), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise problems.from_validation(exc, problems.invalid_query) from None
