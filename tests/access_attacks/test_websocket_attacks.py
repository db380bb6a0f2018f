"""A live WebSocket against a running hub: it ends with its token, and bad input is turned
away cleanly, counted and logged once per cause.

A real hub app on a uvicorn socket and the ``websockets`` client; time is the fake clock's.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from attack_rig import closed, frame, serve

from carhome.access.service import Access
from carhome.api.live import MAX_FRAME
from carhome.hub import Hub
from carhome.testing import FakeClock
from members_rig import login

EXPIRED = 4401


async def authed(ws: Any, token: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "auth", "token": token}))
    ready = await frame(ws)
    assert ready["type"] == "ready", ready
    return ready


@dataclass
class Live:
    """Fred's authenticated WebSocket: his HTTP client, his tokens, the socket and its ``ready``."""

    http: httpx.AsyncClient
    tokens: dict[str, Any]
    ws: Any
    ready: dict[str, Any]


@contextlib.asynccontextmanager
async def fred_live(hub: Hub, access: Access) -> AsyncIterator[Live]:
    """The hub served, Fred logged in, and his WebSocket authenticated with his access token."""
    async with serve(hub, access) as served, served.client() as http:
        tokens = await login(http, "fred")
        async with websockets.connect(served.ws_url) as ws:
            yield Live(http, tokens, ws, await authed(ws, tokens["access_token"]))


async def test_a_websocket_ends_when_its_access_token_expires(
    hub: Hub, access: Access, clock: FakeClock
) -> None:
    async with fred_live(hub, access) as live:
        ws = live.ws
        await ws.send(json.dumps({"type": "subscribe", "device": "purifier"}))
        assert (await frame(ws))["type"] == "subscribed"
        await clock.advance(299)
        hub.report("h1", "purifier", {"pm25": 35}, source="test")
        assert (await frame(ws))["value"] == 35  # still live a second before the end
        await clock.advance(1)
        code, reason = await closed(ws)
        hub.report("h1", "purifier", {"pm25": 36}, source="test")
    print(f"\nWebSocket at its token's expiry: closed with {code} ({reason})")
    assert code == EXPIRED
    assert "expired" in reason
    assert live.ready.get("expires") == live.tokens["expires_at"]  # the client knows when to renew


async def test_a_websocket_renewed_on_the_socket_lives_on_to_the_new_expiry(
    hub: Hub, access: Access, clock: FakeClock
) -> None:
    async with fred_live(hub, access) as live:
        ws = live.ws
        await clock.advance(200)
        refresh = {"refresh": live.tokens["refresh_token"]}
        renewed = (await live.http.post("/api/auth/refresh", json=refresh)).json()
        await ws.send(json.dumps({"type": "auth", "token": renewed["access_token"]}))
        assert await frame(ws) == {"type": "renewed", "expires": renewed["expires_at"]}
        # another member's token renews nothing
        nora = await login(live.http, "nora")
        await ws.send(json.dumps({"type": "auth", "token": nora["access_token"]}))
        assert (await frame(ws))["code"] == "invalid_token"
        await clock.advance(150)  # past the first token's expiry
        await ws.send(json.dumps({"type": "subscribe", "device": "purifier"}))
        assert (await frame(ws))["type"] == "subscribed"
        hub.report("h1", "purifier", {"pm25": 20}, source="test")
        assert (await frame(ws))["value"] == 20
        await clock.advance(renewed["expires_at"] - clock.time())
        code, reason = await closed(ws)
    assert (code, "expired" in reason) == (EXPIRED, True)


async def test_revocation_still_closes_a_live_websocket(hub: Hub, access: Access, clock: FakeClock) -> None:
    async with fred_live(hub, access) as live:
        await access.tokens.revoke_session(access.tokens.check(live.tokens["access_token"]).session)
        code, reason = await closed(live.ws)
    assert (code, reason.startswith("revoked")) == (EXPIRED, True)


BAD_FRAMES: list[tuple[str, str | bytes, int | None]] = [
    # (rejection code, frame, close code before authenticating)
    ("ws_binary", b"\x00\x01binary\xff", 1003),
    ("ws_not_json", "{not json", 4401),
    ("ws_too_deep", '{"type": "auth", "token": ' + "[" * 40 + "]" * 40 + "}", 4401),
    ("ws_unknown_message", '{"type": "launch", "what": "rocket"}', 4401),
    ("ws_too_large", '{"type": "auth", "token": "' + "x" * (MAX_FRAME + 10) + '"}', 1009),
]


async def test_bad_websocket_input_is_turned_away_counted_and_logged_once_per_cause(
    hub: Hub, access: Access, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rounds = 3
    sent = 0
    async with serve(hub, access) as served, served.client() as http:
        tokens = await login(http, "fred")
        for _ in range(rounds):
            for code, data, close in BAD_FRAMES:
                # anonymous: the socket is closed, with a code saying why
                async with websockets.connect(served.ws_url) as ws:
                    await ws.send(data)
                    sent += 1
                    got, _ = await closed(ws)
                    assert got == close, (code, got)
                # logged in: an error frame, and the socket carries on (too big closes it)
                async with websockets.connect(served.ws_url) as ws:
                    await authed(ws, tokens["access_token"])
                    await ws.send(data)
                    sent += 1
                    if code == "ws_too_large":
                        assert (await closed(ws))[0] == 1009
                        continue
                    error = await frame(ws)
                    assert (error["type"], error["code"]) == ("error", code)
                    await ws.send(json.dumps({"type": "subscribe"}))
                    assert (await frame(ws))["type"] == "subscribed"
        owner = await login(http, "olivia")
        shown = (
            await http.get("/api/rejections", headers={"authorization": f"Bearer {owner['access_token']}"})
        ).json()
    counted = {code: hub.rejections.counts[code] for code, _, _ in BAD_FRAMES}
    tracebacks = [r for r in caplog.records if r.exc_info is not None or "Traceback" in r.getMessage()]
    logged = [r for r in caplog.records if r.name == "carhome.rejected"]
    print(
        f"\nbad WebSocket frames: {sent}, rejections counted: {sum(counted.values())},"
        f" tracebacks logged: {len(tracebacks)}, log lines: {len(logged)}"
        f" (one per cause: a WebSocket frame names no device, so its cause is its code)"
    )
    assert tracebacks == []
    assert counted == {code: 2 * rounds for code, _, _ in BAD_FRAMES}
    # once per cause: a frame names no device of the hub, so anonymous and logged-in frames
    # of one code are one cause (carhome.hub.rejections)
    assert sorted(r.cause for r in logged) == sorted(f"?/? {code}" for code, _, _ in BAD_FRAMES)
    assert {code: shown["counts"][code] for code, _, _ in BAD_FRAMES} == counted
