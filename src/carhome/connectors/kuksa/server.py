"""``KuksaServer``: one car's VSS signals over the KUKSA gRPC API, for vehicle apps.

KUKSA serves one vehicle per endpoint, so each car gets its own server and port. The
server speaks ``kuksa.val.v2`` and the ``kuksa.val.v1`` calls the official Python client
still makes, on one insecure gRPC port (bind it to loopback, or put TLS in front, until
carhome terminates TLS itself). It is an async context manager::

    async with KuksaServer(hub, home="h1", device="car", port=55555,
                           authenticate=tokens_to_member) as server:
        ...  # apps connect to server.port
"""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType
from typing import Final, Self

import grpc.aio

from carhome.connectors.kuksa.car import Authenticate, ServedCar
from carhome.connectors.kuksa.config import DEFAULT_PORT
from carhome.connectors.kuksa.proto import grpc_v1, grpc_v2
from carhome.connectors.kuksa.v1 import ValServiceV1
from carhome.connectors.kuksa.v2 import ValService
from carhome.errors import ConnectorError
from carhome.hub import Hub

"""The KUKSA databroker's port, so apps find carhome where they look for KUKSA."""

_STOP_GRACE: Final = 0.5


class KuksaServer:
    """Serves the car ``home/device`` of ``hub`` over KUKSA gRPC; ``port=0`` picks a free port."""

    def __init__(
        self,
        hub: Hub,
        *,
        home: str,
        device: str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        authenticate: Authenticate,
        providers: Collection[str] = (),
        command_ttl: float = 30.0,
    ) -> None:
        self.car = ServedCar(
            hub,
            home=home,
            device=device,
            authenticate=authenticate,
            providers=providers,
            command_ttl=command_ttl,
        )
        self.v2 = ValService(self.car)
        self._host = host
        self._port = port
        self._bound: int | None = None
        self._server: grpc.aio.Server | None = None

    @property
    def port(self) -> int:
        if self._bound is None:
            raise ConnectorError("the KUKSA server is not running")
        return self._bound

    @property
    def address(self) -> str:
        """``host:port``, as KUKSA clients take it."""
        return f"{self._host}:{self.port}"

    async def __aenter__(self) -> Self:
        server = grpc.aio.server()
        grpc_v2.add_VALServicer_to_server(self.v2, server)
        grpc_v1.add_VALServicer_to_server(ValServiceV1(self.car), server)
        try:
            bound = server.add_insecure_port(f"{self._host}:{self._port}")
        except RuntimeError as exc:
            raise ConnectorError(f"cannot listen for KUKSA on {self._host}:{self._port}: {exc}") from exc
        if bound == 0:  # older grpcio reports a failed bind this way
            raise ConnectorError(f"cannot listen for KUKSA on {self._host}:{self._port}: address in use?")
        await server.start()
        self._server, self._bound = server, bound
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        server, self._server, self._bound = self._server, None, None
        if server is not None:
            # Open subscriptions are endless; after a short grace they are cancelled.
            await server.stop(_STOP_GRACE)
