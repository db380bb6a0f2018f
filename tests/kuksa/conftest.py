"""A car served over KUKSA from a real hub (memory store, fake clock), and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from kuksa_client.grpc.aio import VSSClient
from kuksa_rig import CAR, HOME, TOKENS

from carhome.connectors.kuksa import KuksaServer
from carhome.connectors.kuksa.proto import grpc_v2
from carhome.hub import Hub
from carhome.testing import AckingDevice


@pytest.fixture
def tokens() -> dict[str, str]:
    return dict(TOKENS)


@pytest.fixture
def car(hub: Hub) -> AckingDevice:
    device = AckingDevice(hub)
    hub.commands.attach("mqtt", device)
    return device


@pytest.fixture
async def server(hub: Hub, car: AckingDevice, tokens: dict[str, str]) -> AsyncIterator[KuksaServer]:
    async with KuksaServer(
        hub, home=HOME, device=CAR, port=0, authenticate=tokens.get, providers=["feeder"]
    ) as served:
        yield served


@pytest.fixture
async def client(server: KuksaServer) -> AsyncIterator[VSSClient]:
    """The official KUKSA client, signed in as the owner."""
    async with VSSClient("127.0.0.1", server.port, token="t-olga") as vss:
        yield vss


@pytest.fixture
async def stub(server: KuksaServer) -> AsyncIterator[object]:
    """The generated kuksa.val.v2 stub, for the calls kuksa-client has no method for."""
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield grpc_v2.VALStub(channel)
