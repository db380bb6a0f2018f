"""The web app and the cabin view, served by the hub from files built into this package.

The front end's sources live in the repository's ``web/`` directory; ``npm run build``
there writes the built app into ``static/`` beside this module, and those files are
committed, so a hub serves its web app with no Node and no internet.

``web_routes()`` returns the route to add *after* every API route of the app: it answers
any path the API did not claim. What it serves:

- a built file by its path (``/assets/index-<hash>.js``, ``/favicon.svg``), with its
  content type; hashed assets are cached for a year (their name changes with their
  content), other files for an hour;
- ``index.html`` for every other page path (``/``, ``/cabin``, ``/devices/yizhuang/car``)
  so the app's client-side routes survive a reload; never cached, so a new build is
  picked up at once;
- under ``/api`` nothing: an unknown API path stays the API's 404 problem, and a path
  that looks like a file (has an extension) but is not one is a 404 too, not a page.

The set of files is read once when the routes are made; a request's path is only ever
looked up in it, never joined to a directory, so no request can reach outside
``static/``. The static files hold no secret: the app gets everything from the API after
its member logs in.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Final

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

from carhome.errors import ConfigError

STATIC_DIR: Final = Path(__file__).parent / "static"
INDEX: Final = "index.html"

# Content types by extension, so they do not depend on the machine's mime.types.
_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

IMMUTABLE: Final = "public, max-age=31536000, immutable"
SHORT: Final = "public, max-age=3600"
NO_CACHE: Final = "no-cache"

# The app loads only its own files and talks only to its own hub (HTTP and WebSocket).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON: Final = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _content_type(path: Path) -> str:
    known = _TYPES.get(path.suffix.lower())
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class WebApp:
    """An ASGI app serving the built web app from ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        index = directory / INDEX
        if not index.is_file():
            raise ConfigError(
                f"the web app is not built: {index} is missing; run `npm install && npm run build`"
                " in the repository's web/ directory (see web/README.md)"
            )
        self._index = index
        self._files: dict[str, Path] = {
            file.relative_to(directory).as_posix(): file
            for file in sorted(directory.rglob("*"))
            if file.is_file() and file.name != INDEX
        }

    @property
    def files(self) -> tuple[str, ...]:
        """The paths served as files (relative, ``/``-separated), besides ``index.html``."""
        return tuple(self._files)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # No WebSocket lives here; the live API's is /api/ws and was routed before us.
            await send({"type": "websocket.close", "code": 1008, "reason": "no WebSocket at this path"})
            return
        if scope["type"] != "http":
            return
        path = _route_path(scope)
        if path == "/api" or path.startswith("/api/"):
            raise HTTPException(404)
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        relative = path.lstrip("/")
        file = self._files.get(relative)
        if file is not None:
            cache = IMMUTABLE if relative.startswith("assets/") else SHORT
            response = FileResponse(
                file, media_type=_content_type(file), headers={"Cache-Control": cache, **_COMMON}
            )
        elif "." in relative.rsplit("/", 1)[-1]:
            raise HTTPException(404)  # a missing file, not a page: no index.html posing as it
        else:
            response = FileResponse(
                self._index,
                media_type=_TYPES[".html"],
                headers={
                    "Cache-Control": NO_CACHE,
                    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                    **_COMMON,
                },
            )
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The request's path below the app's mount point (a proxy may add a root path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class _Pages(Mount):
    """The mount of the web app, which never claims a path under ``/api``.

    Were it to match there, it would win over an API route that matched the path but not
    the method, and a wrong method would be a 404 instead of the API's 405 with ``Allow``.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket"):
            path = _route_path(scope)
            if path == "/api" or path.startswith("/api/"):
                return Match.NONE, {}
        return super().matches(scope)


def web_routes(directory: Path = STATIC_DIR) -> list[BaseRoute]:
    """The web app's route: add it to the hub's app after every ``/api`` route."""
    return [_Pages("/", app=WebApp(directory), name="web")]


__all__ = ["STATIC_DIR", "WebApp", "web_routes"]
