"""Serving the local API with uvicorn, on loopback unless told otherwise.

``ApiServer`` is an async context manager: on entry it binds the socket (so the URL,
including a port picked by the system for ``port=0``, is known and connections queue
at once) and starts uvicorn as a named task; on exit it stops it. With ``announce`` it
writes its address for the CLI (``carhome.wire.discovery``) and removes it on exit.

An app built without access control (``create_app`` without ``access``) must not be
reachable from other machines, so a non-loopback host is refused unless the caller says
``allow_remote=True`` — which the hub process does, because its app requires logins.

uvicorn's own reading of ``X-Forwarded-For`` is off (it believes any local process by
default): the app reads it from the proxies it is told to trust. A WebSocket frame over
``carhome.api.live.MAX_FRAME`` bytes closes its socket (1009).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import TracebackType
from typing import Final, Self

import uvicorn
from starlette.types import ASGIApp

from carhome import ports
from carhome.api.live import MAX_FRAME
from carhome.errors import ConfigError
from carhome.http.principals import is_loopback
from carhome.wire.discovery import clear_hub_address, write_hub_address

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = ports.API  # clear of Home Assistant's 8123


class ApiServer:
    """Runs an ASGI app with uvicorn for the life of an ``async with`` block."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        allow_remote: bool = False,
        announce: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ConfigError(
                f"an API without access control listens on loopback only;"
                f" {host!r} is not a loopback address (use 127.0.0.1)"
            )
        self._app = app
        self._host = host
        self._port = port
        self._announce = announce
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        family, kind, proto, _, address = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)[
            0
        ]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self._host}:{self._port}: {exc.strerror};"
                " is another hub running? pick another port"
            ) from exc
        sock.setblocking(False)
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            # The app decides whose X-Forwarded-For to believe (``api.trusted_proxies``);
            # uvicorn's default believes any process on this machine.
            proxy_headers=False,
            ws_max_size=MAX_FRAME,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="api-server")
        if self._announce:
            await asyncio.to_thread(write_hub_address, self.url)  # fsynced: off the event loop
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._announce:
            clear_hub_address(self.url)
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
