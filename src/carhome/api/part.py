"""The API server as a part of the hub: every part's routes, the login check and the web app.

Started after the parts whose routes it serves (what they handed the route sink), it serves
the hub's own routes, the live WebSocket, the description of every operation
(``DESCRIBED``, from the composition) and, last, the web app's files; it asks every part's
health on ``/api/health`` and offers where it listens (``API_URL``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

from carhome.api.app import create_app
from carhome.api.config import ApiConfig
from carhome.api.server import ApiServer
from carhome.parts import Context, DefaultedPart
from carhome.parts.keys import API_URL, DESCRIBED
from carhome.web import web_routes


@contextlib.asynccontextmanager
async def _running(context: Context, section: ApiConfig) -> AsyncIterator[ApiServer]:
    app = create_app(
        context.hub,
        access=context.access,
        trusted_proxies=section.trusted_proxies,
        health=tuple(context.health),
        described=context.want(DESCRIBED),
    )
    app.router.routes.extend(context.routes.routes)
    app.router.routes.extend(web_routes())  # last: it answers every path the API did not claim
    try:
        async with ApiServer(
            app, host=section.host, port=section.port, allow_remote=True, announce=True
        ) as api:
            context.provide(API_URL, api.url)
            yield api
    finally:
        app.state.live.close()


PART: Final = DefaultedPart("api", ApiConfig, _running)
