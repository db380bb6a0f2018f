"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the local API returns is a ``Problem``: a ``type`` URI naming the kind of
problem, a short ``title``, the HTTP ``status``, a ``detail`` sentence that says what was
wrong and what to do, and structured fields (device, property, reason, allowed …) so a
client can render it without parsing the sentence. ``problem_from`` translates carhome's
error tree into problems in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from starlette.responses import Response

from carhome.errors import (
    CarhomeError,
    CommandDenied,
    ConnectorError,
    DuplicateCommand,
    InvalidCommand,
    StoreError,
    UnknownDevice,
)
from carhome.http.media import MEDIA_TYPE, TYPE_PREFIX


class Problem(CarhomeError):
    """An HTTP error with a problem-details body; raise it from a route."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.type = TYPE_PREFIX + slug
        self.title = title
        self.detail = detail
        # None fields are left out of the body: absent means "does not apply".
        self.fields = {k: v for k, v in fields.items() if v is not None}
        # Response headers that belong to the problem (WWW-Authenticate, Retry-After).
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.fields,
        }

    def response(self) -> Response:
        return Response(
            msgspec.json.encode(self.body()),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers or None,
        )


def unknown_home(home: str, known: list[str]) -> Problem:
    return Problem(
        404,
        "unknown-home",
        "Unknown home",
        f"there is no home {home!r}; known homes: {', '.join(sorted(known)) or 'none'}",
        home=home,
        known=sorted(known),
    )


def invalid_body(reason: str, field: str | None = None, allowed: str | None = None) -> Problem:
    where = f" at {field}" if field else ""
    what = f"the request body is not valid{where}"
    return _invalid("invalid-body", "Invalid request body", what, reason, field=field, allowed=allowed)


def invalid_query(reason: str, field: str | None = None, allowed: str | None = None) -> Problem:
    where = f" {field}" if field else ""
    what = f"query parameter{where} is not valid"
    return _invalid("invalid-query", "Invalid query parameter", what, reason, field=field, allowed=allowed)


def _invalid(
    slug: str, title: str, what: str, reason: str, *, field: str | None, allowed: str | None
) -> Problem:
    """A 422: ``what`` is wrong for ``reason`` (naming the ``allowed`` values, if known)."""
    tail = f"; allowed: {allowed}" if allowed else ""
    return Problem(422, slug, title, f"{what}: {reason}{tail}", field=field, reason=reason, allowed=allowed)


def from_validation(
    exc: msgspec.ValidationError,
    maker: Callable[[str, str | None, str | None], Problem] = invalid_body,
    allowed: Mapping[str, str] | None = None,
) -> Problem:
    """A msgspec error (``Expected int, got str - at `$.ttl```) as a problem naming the field.

    ``allowed`` maps a field path to words for its allowed values, where msgspec's own
    message does not say them (an invalid enum value).
    """
    message = str(exc)
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        return maker(message, None, None)
    field = where.rstrip("`")
    return maker(reason, field, (allowed or {}).get(field))


def problem_from(exc: CarhomeError) -> Problem:
    """Translate one of carhome's errors into the problem a client sees."""
    if isinstance(exc, UnknownDevice):
        return Problem(404, "unknown-device", "Unknown device", str(exc), home=exc.home, device=exc.device)
    if isinstance(exc, DuplicateCommand):
        # whichever face brought it (a signed command carries its own id): a conflict
        return Problem(409, "duplicate-id", "Duplicate command id", str(exc), command=exc.command_id)
    if isinstance(exc, InvalidCommand):
        return Problem(
            422,
            "invalid-command",
            "Invalid command",
            str(exc),
            device=exc.device,
            target=exc.target,
            reason=exc.reason,
            allowed=exc.allowed,
        )
    if isinstance(exc, CommandDenied):
        return Problem(
            403,
            "command-denied",
            "Command denied",
            str(exc),
            member=exc.member,
            device=exc.device,
            target=exc.target,
            reason=exc.reason,
        )
    if isinstance(exc, StoreError | ConnectorError):
        problem = Problem(
            503, "unavailable", "Service unavailable", f"{exc}; try again shortly", reason=str(exc)
        )
        if isinstance(exc, ConnectorError) and exc.retry_after is not None:
            problem.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return problem
    return Problem(500, "internal", "Internal error", str(exc))
