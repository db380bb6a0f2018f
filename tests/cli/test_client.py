"""The CLI's client translates what comes back into carhome's errors at one edge."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from carhome.api import create_app
from carhome.cli import ApiError, HubClient
from carhome.errors import ConnectorError
from carhome.hub import Hub


async def test_problems_become_api_errors_with_their_fields(hub: Hub) -> None:
    async with HubClient("http://hub", transport=httpx.ASGITransport(create_app(hub))) as client:
        with pytest.raises(ApiError) as info:
            await client.submit("h1", "purifier", kind="set", target="fan_level", args={"value": 9})
    assert info.value.status == 422
    assert info.value.type == "urn:carhome:problem:invalid-command"
    assert info.value.fields["allowed"] == "int from 1 to 3"


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
        with pytest.raises(ApiError, match="is this a carhome hub"):
            await client.homes()
