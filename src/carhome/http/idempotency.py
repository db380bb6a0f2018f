"""Client idempotency keys on the routes that make commands.

A client that sends a command and gets no answer (a timeout, a dropped connection, an API
node that died) cannot know whether the command was made. It sends the request again with
the same ``Idempotency-Key`` header, and the route derives the command's id from the member
and the key (``carhome.hub.derived_id("api", member, key, …)``): the retry finds the command
the first request made and answers with its record — the same command, not a second one.
The same key with another request is a mistake the client must hear about (``reused``),
never a silent second command. No header: every request makes a new command, as before.

A key is 1–128 printable ASCII characters (a UUID is the usual choice); any other is
refused with a 422 problem saying so (``key_of``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.requests import Request

from carhome.http.problems import Problem

HEADER: Final = "Idempotency-Key"
MAX_LENGTH: Final = 128
_PRINTABLE: Final = re.compile(r"[ -~]+")

PARAMETER: Final[dict[str, Any]] = {
    "description": (
        "A key of the client's choosing (1–128 printable ASCII characters, a UUID say) that makes"
        " the request safe to send again: a retry with the same key answers with the command the"
        " first request made instead of making a second one; the same key with a different request"
        " is refused (422)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": "^[ -~]+$"},
}
"""The header's OpenAPI description (``Operation.request_headers``)."""


def key_of(request: Request) -> str | None:
    """The request's idempotency key, or None without the header; a 422 problem if it is
    not 1–128 printable ASCII characters."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_LENGTH or _PRINTABLE.fullmatch(key) is None:
        raise Problem(
            422,
            "invalid-idempotency-key",
            "Invalid idempotency key",
            f"the {HEADER} header must be 1 to {MAX_LENGTH} printable ASCII characters"
            f" (got {len(key)} characters); send a UUID, say, or leave the header out",
            header=HEADER,
        )
    return key


def reused(key: str, detail: str) -> Problem:
    """The problem for a key sent again with a different request."""
    return Problem(
        422,
        "idempotency-key-reused",
        "Idempotency key reused",
        f"the {HEADER} {key!r} was used for a different request ({detail}); send a new key for a new request",
        header=HEADER,
    )
