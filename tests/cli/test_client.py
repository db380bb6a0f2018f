"""The CLI's client translates what comes back into carhome's errors at one edge."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from carhome.api import create_app
from carhome.cli import ApiError, HubClient
from carhome.errors import ConnectorError
from carhome.hub import Hub
from carhome.wire.keyclient import HubKeys


async def test_problems_become_api_errors_with_their_fields(hub: Hub) -> None:
    async with HubClient("http://hub", transport=httpx.ASGITransport(create_app(hub))) as client:
        with pytest.raises(ApiError) as info:
            await client.submit("h1", "purifier", kind="set", target="fan_level", args={"value": 9})
    assert info.value.status == 422
    assert info.value.code == "invalid-command"
    assert info.value.fields["allowed"] == "int from 1 to 3"
    assert str(info.value) == info.value.detail
    assert "/api/" not in str(info.value)
    assert "invalid-command" not in str(info.value)


async def test_typed_answers(hub: Hub) -> None:
    async with HubClient("http://hub", transport=httpx.ASGITransport(create_app(hub))) as client:
        health = await client.health()
        [home] = await client.homes()
        detail = await client.device("h1", "car")
    assert health.devices == 2
    assert home.id == "h1"
    assert detail.spec.type == "car"


def _not_a_hub() -> Starlette:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/api/health", hello)])


async def test_a_server_that_is_not_a_hub() -> None:
    transport = httpx.ASGITransport(_not_a_hub())
    async with HubClient("http://other", transport=transport) as client:
        with pytest.raises(ConnectorError, match="not the carhome API"):
            await client.health()
        with pytest.raises(ApiError, match="is this the address of a carhome hub") as info:
            await client.homes()
    assert (info.value.status, info.value.code) == (404, "http-404")
    assert "http-404" not in str(info.value)
    assert "/api/" not in str(info.value)


async def test_a_hub_out_of_reach_names_the_url_and_the_reason() -> None:
    """The CLI and the phone's key client share the client: both say why, and where."""
    url = f"http://127.0.0.1:{_closed_port()}"
    for client in (HubClient(url), HubKeys(url)):
        async with client:
            with pytest.raises(ConnectorError) as info:
                await client.call("GET", "/api/health", dict[str, object])
        said = str(info.value)
        assert said.startswith(f"cannot reach the hub at {url}: "), said
        assert len(said) > len(f"cannot reach the hub at {url}: ") + 10, said


async def test_the_key_client_and_the_cli_translate_problems_alike(hub: Hub) -> None:
    app = create_app(hub)
    async with (
        HubClient("http://hub", transport=httpx.ASGITransport(app)) as cli_client,
        HubKeys("http://hub", transport=httpx.ASGITransport(app)) as keys,
    ):
        with pytest.raises(ApiError) as from_cli:
            await cli_client.device("h1", "nothing")
        with pytest.raises(ApiError) as from_keys:
            await keys.call("GET", "/api/devices/h1/nothing", dict[str, object])
    for error in (from_cli.value, from_keys.value):
        assert (error.status, error.code) == (404, "unknown-device")
        assert error.fields["device"] == "nothing"
        assert "unknown-device" not in str(error)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
