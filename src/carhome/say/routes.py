"""The say part of the API: a request in words, in English or Chinese.

``POST /api/say`` with ``{"text": …, "language": "en"|"zh" (optional), "home": …
(optional), "wait": seconds (optional)}`` answers with a ``carhome.wire.say.SayResult``: what
was understood and a sentence in the request's language. Commands go through the hub as
the logged-in member (the gatekeeper decides, the audit records); with ``wait`` the answer
follows the command to its acknowledgement. A guest is understood and answered with what
their grants show only (``carhome.api.auth.View``). A bad body is a 422 problem naming the
field.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.http import problems
from carhome.http.bodies import decode_body, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import Principal, principal_of, view_of
from carhome.hub import Hub
from carhome.say import Say
from carhome.wire.say import SayRequest, SayResult

_ALLOWED: Final = {
    "$.language": "'en' or 'zh' (or leave it out to guess from the text)",
    "$.text": "1 to 500 characters",
    "$.wait": "seconds from 0 to 60",
    "$.here": "the id of the device or room the request is made from (the cabin sends its car)",
}


def _home(hub: Hub, principal: Principal, asked: str | None) -> str:
    """The home a request speaks of: the member's, the one asked for, or the only one."""
    known = [h.id for h in hub.homes() if principal.sees(h.id)]
    if asked is not None:
        if asked not in known:
            raise problems.unknown_home(asked, known)
        return asked
    if principal.home is not None:
        return principal.home
    if len(known) == 1:
        return known[0]
    raise problems.invalid_body(
        "this hub has several homes: say which", "$.home", ", ".join(sorted(known)) or "none"
    )


_FIELD: Final = re.compile(r"field `([^`]+)`")


async def _decode(request: Request) -> SayRequest:
    """The body as a ``SayRequest``; a missing or unknown key's problem names it too
    (msgspec says which only in its message, with no path)."""
    try:
        return await decode_body(request, SayRequest, allowed=_ALLOWED)
    except problems.Problem as problem:
        named = _FIELD.search(str(problem.fields.get("reason", "")))
        if "field" not in problem.fields and named is not None:
            problem.fields["field"] = f"$.{named.group(1)}"
        raise


class SayRoutes:
    """``POST /api/say`` over one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.say = Say(hub)

    async def handle(self, request: Request) -> Response:
        asked = await _decode(request)
        principal, view = principal_of(request), view_of(request)
        home = _home(self.hub, principal, asked.home)
        text = asked.text.strip()
        if not text:
            raise problems.invalid_body("the text is empty", "$.text", _ALLOWED["$.text"])
        result = await self.say.say(
            text,
            member=principal.member,
            home=home,
            language=asked.language,
            wait=asked.wait,
            here=asked.here,
            sees=None if view.everything else view.sees_either,
        )
        return json_response(result)


OPERATIONS: Final[tuple[Operation[SayRoutes], ...]] = (
    Operation(
        "POST",
        "/api/say",
        SayRoutes.handle,
        "A request in words, English or Chinese: a command run as the member, or a question answered",
        "say",
        {200: SayResult},
        body=SayRequest,
        problems=(404,),
    ),
)


def say_routes(hub: Hub) -> list[BaseRoute]:
    """``POST /api/say`` over ``hub``."""
    return routes(OPERATIONS, SayRoutes(hub))
