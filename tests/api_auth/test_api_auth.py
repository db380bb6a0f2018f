"""Logging in to the API, tokens, home scoping, members over the API, and the WebSocket.

A real hub (memory store, fake clock) with the access parts of a hub process
(``Access.open`` over a temporary directory) and the app the hub serves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from carhome.access.service import Access
from carhome.api import ApiServer, create_app
from carhome.automations import Engine
from carhome.automations.routes import automation_routes
from carhome.cli.client import ApiError, HubClient
from carhome.cli.session import Sessions
from carhome.hub import Availability, Change, Device, Event, Home, Hub, Result
from carhome.store.memory import MemoryStore
from carhome.testing import AckingDevice, FakeClock
from members_rig import PASSWORD, access, bearer, login

__all__ = ["access"]  # the fixture, used by name


@pytest.fixture
async def hub(clock: FakeClock, access: Access) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub:
        for home in ("h1", "h2"):
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="purifier", type="air_purifier", room="living_room"))
            await hub.add_device(Device(home=home, id="car", type="car"))
        hub.commands.attach("mqtt", AckingDevice(hub, result=lambda command: {"ran": command.target}))
        yield hub


@pytest.fixture
async def client(hub: Hub, access: Access) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub, access=access)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield c


PURIFIER_ON = {"kind": "action", "target": "turn_on", "wait": 5}


# -- logging in --------------------------------------------------------------------------


async def test_only_health_answers_without_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health")).status_code == 200
    for method, path in (
        ("GET", "/api/homes"),
        ("GET", "/api/devices"),
        ("GET", "/api/devices/h1/car"),
        ("POST", "/api/devices/h1/purifier/commands"),
        ("GET", "/api/commands"),
        ("GET", "/api/rejections"),
        ("GET", "/api/members"),
        ("GET", "/api/audit"),
        ("GET", "/api/nowhere"),
    ):
        r = await client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["type"] == "urn:carhome:problem:unauthorized"


async def test_routes_added_later_are_guarded_too(hub: Hub, access: Access) -> None:
    async with Engine(hub) as engine:
        app = create_app(hub, access=access)
        app.router.routes.extend(automation_routes(hub, engine))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
            assert (await c.get("/api/automations")).status_code == 401
            tokens = await login(c, "olivia")
            assert (await c.get("/api/automations", headers=bearer(tokens))).status_code == 200


async def test_login_then_command_acts_as_that_member(client: httpx.AsyncClient, access: Access) -> None:
    tokens = await login(client, "fred")
    assert tokens["member"] == "fred"
    assert tokens["home"] == "h1"
    assert tokens["token_type"] == "Bearer"
    r = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    assert (r.json()["member"], r.json()["face"], r.json()["status"]) == ("fred", "api", "acked")
    entries = await access.audit.entries()
    assert [(e.member, e.face, e.target, e.decision) for e in entries] == [
        ("fred", "api", "turn_on", "allowed")
    ]


@pytest.mark.parametrize(
    ("member", "password"), [("fred", "wrong password!"), ("nobody", PASSWORD), ("", PASSWORD)]
)
async def test_bad_credentials_look_alike(client: httpx.AsyncClient, member: str, password: str) -> None:
    r = await client.post("/api/auth/login", json={"member": member, "password": password})
    assert r.status_code == 401
    assert r.json()["reason"] == "wrong member or password"


async def test_a_malformed_login_body_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/login", json={"member": "fred"})
    assert r.status_code == 422
    assert "password" in r.json()["detail"]


async def test_guessing_is_throttled_per_account(client: httpx.AsyncClient, clock: FakeClock) -> None:
    codes = [
        (
            await client.post("/api/auth/login", json={"member": "fred", "password": f"guess {i}..."})
        ).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    r = await client.post("/api/auth/login", json={"member": "fred", "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    await clock.advance(61)
    assert (
        await client.post("/api/auth/login", json={"member": "fred", "password": PASSWORD})
    ).status_code == 200


async def test_an_expired_access_token_is_refused_and_refresh_renews(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tokens = await login(client, "fred")
    await clock.advance(301)
    r = await client.get("/api/devices", headers=bearer(tokens))
    assert r.status_code == 401
    assert "expired" in r.json()["reason"]
    renewed = (await client.post("/api/auth/refresh", json={"refresh": tokens["refresh_token"]})).json()
    assert (await client.get("/api/devices", headers=bearer(renewed))).status_code == 200
    # The spent refresh token, used again, revokes the session: someone copied it.
    r = await client.post("/api/auth/refresh", json={"refresh": tokens["refresh_token"]})
    assert r.status_code == 401
    assert (await client.get("/api/devices", headers=bearer(renewed))).status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    tokens = await login(client, "fred")
    assert (await client.post("/api/auth/logout", headers=bearer(tokens))).status_code == 204
    assert (await client.get("/api/devices", headers=bearer(tokens))).status_code == 401


# -- homes and the gatekeeper -------------------------------------------------------------


async def test_a_member_sees_and_commands_only_their_home(client: httpx.AsyncClient, hub: Hub) -> None:
    tokens = await login(client, "nora")
    homes = (await client.get("/api/homes", headers=bearer(tokens))).json()
    assert [h["id"] for h in homes] == ["h2"]
    devices = (await client.get("/api/devices", headers=bearer(tokens))).json()
    assert {d["home"] for d in devices} == {"h2"}
    assert (await client.get("/api/devices/h1/car", headers=bearer(tokens))).status_code == 404
    r = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=bearer(tokens))
    assert r.status_code == 404
    assert await hub.store.commands("h1") == []
    r = await client.get("/api/devices", params={"home": "h1"}, headers=bearer(tokens))
    assert r.status_code == 404


async def test_a_guest_without_a_grant_is_denied_and_it_is_on_record(
    client: httpx.AsyncClient, access: Access
) -> None:
    tokens = await login(client, "gina")
    r = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=bearer(tokens))
    assert r.status_code == 403
    assert "no live grant" in r.json()["reason"]
    entries = await access.audit.entries()
    assert [(e.member, e.decision) for e in entries] == [("gina", "denied")]


async def test_an_unsigned_safety_command_is_refused(client: httpx.AsyncClient) -> None:
    tokens = await login(client, "olivia")
    r = await client.post(
        "/api/devices/h1/car/commands", json={"kind": "action", "target": "unlock"}, headers=bearer(tokens)
    )
    assert r.status_code == 403
    assert "signature" in r.json()["reason"]


# -- members over the API -----------------------------------------------------------------


async def test_owner_adds_a_guest_grants_and_the_guest_acts_within_it(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    owner = bearer(await login(client, "olivia"))
    r = await client.post(
        "/api/members",
        json={"id": "gus", "name": "Gus", "role": "guest", "password": PASSWORD},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    assert r.json()["has_password"] is True
    assert "password" not in r.json()
    now = clock.time()
    r = await client.post(
        "/api/members/gus/grants",
        json={"devices": ["purifier"], "targets": ["*"], "starts": now, "ends": now + 3600, "uses": 1},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    gus = bearer(await login(client, "gus"))
    first = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=gus)
    second = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=gus)
    assert (first.status_code, second.status_code) == (200, 403)
    listed = (await client.get("/api/members", headers=owner)).json()
    assert [m["id"] for m in listed] == ["fred", "gina", "gus", "olivia"]


async def test_family_may_not_manage_members_but_sees_themselves(client: httpx.AsyncClient) -> None:
    fred = bearer(await login(client, "fred"))
    r = await client.post("/api/members", json={"id": "x", "name": "X", "role": "owner"}, headers=fred)
    assert r.status_code == 403
    assert [m["id"] for m in (await client.get("/api/members", headers=fred)).json()] == ["fred"]
    assert (await client.post("/api/members/gina/revoke", headers=fred)).status_code == 403


async def test_an_owner_cannot_reach_another_homes_members(client: httpx.AsyncClient) -> None:
    nora = bearer(await login(client, "nora"))
    assert (await client.post("/api/members/fred/revoke", headers=nora)).status_code == 404


async def test_revoking_a_member_ends_their_tokens_at_once(client: httpx.AsyncClient) -> None:
    owner = bearer(await login(client, "olivia"))
    fred = bearer(await login(client, "fred"))
    assert (await client.post("/api/members/fred/revoke", headers=owner)).status_code == 200
    r = await client.get("/api/devices", headers=fred)
    assert r.status_code == 401
    assert "revoked" in r.json()["reason"]
    assert (
        await client.post("/api/auth/login", json={"member": "fred", "password": PASSWORD})
    ).status_code == 401


async def test_the_audit_log_is_readable_by_the_owner_and_intact(client: httpx.AsyncClient) -> None:
    owner = bearer(await login(client, "olivia"))
    await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=owner)
    body = (await client.get("/api/audit", headers=owner)).json()
    assert body["intact"] is True
    # The command, then reading the log (itself a decision on record).
    assert [(e["member"], e["target"], e["decision"]) for e in body["entries"]] == [
        ("olivia", "turn_on", "allowed"),
        ("olivia", "manage_members", "allowed"),
    ]
    r = await client.get("/api/audit", params={"limit": "0"}, headers=owner)
    assert r.status_code == 422


# -- the CLI's client ---------------------------------------------------------------------


async def test_the_cli_client_keeps_the_session_and_refreshes_it(
    hub: Hub, access: Access, clock: FakeClock, tmp_path: Path
) -> None:
    sessions = Sessions(tmp_path / "sessions.json")
    transport = httpx.ASGITransport(app=create_app(hub, access=access))
    async with HubClient("http://hub", transport=transport, sessions=sessions) as c:
        with pytest.raises(ApiError) as denied:
            await c.devices()
        assert denied.value.status == 401
        await c.login("fred", PASSWORD)
        assert (sessions.path.stat().st_mode & 0o777) == 0o600
        assert PASSWORD not in sessions.path.read_text()
        assert len(await c.devices()) == 2
        await clock.advance(301)  # the access token expired: the client refreshes once, quietly
        assert len(await c.devices()) == 2
        assert sessions.get("http://hub") is not None
        await c.logout()
        assert sessions.get("http://hub") is None
        with pytest.raises(ApiError):
            await c.devices()


# -- the WebSocket ------------------------------------------------------------------------


@pytest.fixture
async def server(hub: Hub, access: Access) -> AsyncIterator[str]:
    app = create_app(hub, access=access)
    async with ApiServer(app, port=0) as running:
        yield running.url.replace("http://", "ws://") + "/api/ws"
    app.state.live.close()


async def frame(ws: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        data: dict[str, Any] = json.loads(await ws.recv())
        return data


async def until_closed(ws: Any) -> None:
    while True:
        await frame(ws)


async def test_the_websocket_pushes_state_and_command_results(
    server: str, client: httpx.AsyncClient, hub: Hub
) -> None:
    tokens = await login(client, "fred")
    async with websockets.connect(server) as ws:
        await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
        assert (await frame(ws)) == {
            "type": "ready",
            "member": "fred",
            "home": "h1",
            "expires": tokens["expires_at"],
        }
        await ws.send(json.dumps({"type": "subscribe", "device": "purifier"}))
        assert (await frame(ws))["type"] == "subscribed"
        hub.report("h1", "purifier", {"pm25": 35}, source="test")
        hub.report("h2", "purifier", {"pm25": 99}, source="test")  # another home: not sent
        hub.report("h1", "purifier", {"pm25": 12}, source="test")
        states = [await frame(ws), await frame(ws)]
        assert [(s["device"], s["property"], s["value"]) for s in states] == [
            ("purifier", "pm25", 35),
            ("purifier", "pm25", 12),
        ]
        command = await hub.submit("h1", "purifier", "action", "turn_on", member="fred", face="api")
        # handed to the device, then its answer (final once it is on record)
        results = [await frame(ws), await frame(ws)]
        assert [(r["type"], r["command"]["id"], r["command"]["status"]) for r in results] == [
            ("command", command.id, "sent"),
            ("command", command.id, "acked"),
        ]
        assert results[1]["command"]["target"] == "turn_on"
        await ws.send("not json")
        assert (await frame(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "subscribe", "device": "toaster"}))
        assert "toaster" in (await frame(ws))["detail"]


def bus_counts(hub: Hub) -> dict[str, int]:
    return {kind.__name__: hub.bus.count(kind) for kind in (Change, Event, Result, Availability)}


async def test_a_sockets_subscriptions_are_its_own_and_close_with_it(hub: Hub, access: Access) -> None:
    app = create_app(hub, access=access)
    before = bus_counts(hub)

    def opened() -> dict[str, int]:
        return {k: n - before[k] for k, n in bus_counts(hub).items() if n != before[k]}

    async with ApiServer(app, port=0) as running, httpx.AsyncClient(base_url=running.url) as client:
        tokens = await login(client, "fred")
        url = running.url.replace("http://", "ws://") + "/api/ws"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
            assert (await frame(ws))["type"] == "ready"
            # his home's command results, not every home's
            assert opened() == {"Result": 1}
            assert hub.bus.watched("h1", "purifier", "turn_on", Result)
            assert not hub.bus.watched("h2", "purifier", "turn_on", Result)
            for device in ("purifier", "car"):
                await ws.send(json.dumps({"type": "subscribe", "device": device}))
                assert (await frame(ws))["type"] == "subscribed"
            assert opened() == {"Result": 1, "Change": 2}
            await ws.send(json.dumps({"type": "unsubscribe", "device": "car"}))
            assert (await frame(ws))["type"] == "unsubscribed"
            assert opened() == {"Result": 1, "Change": 1}
            # the hub stops serving: every socket's subscriptions close at once
            app.state.live.close()
            assert opened() == {}
            with pytest.raises(websockets.ConnectionClosed):
                await frame(ws)
    print(f"live socket subscriptions left after the live hub closed: {sum(opened().values())}")


async def test_the_websocket_refuses_a_bad_token(server: str) -> None:
    async with websockets.connect(server) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "v1.forged.token"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_revocation_closes_open_websockets_within_a_second(
    server: str, client: httpx.AsyncClient, hub: Hub
) -> None:
    owner = bearer(await login(client, "olivia"))
    fred_tokens = await login(client, "fred")
    gina_tokens = await login(client, "gina")
    async with websockets.connect(server) as fred_ws, websockets.connect(server) as gina_ws:
        for ws, tokens in ((fred_ws, fred_tokens), (gina_ws, gina_tokens)):
            await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
            assert (await frame(ws))["type"] == "ready"
        started = time.monotonic()
        assert (await client.post("/api/members/fred/revoke", headers=owner)).status_code == 200
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await until_closed(fred_ws)
        elapsed = time.monotonic() - started
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        print(f"\nrevocation: open WebSocket closed {elapsed * 1000:.1f} ms after the revoke (limit 1 s)")
        assert elapsed < 1.0
        # Somebody else's socket stays open.
        await gina_ws.send(json.dumps({"type": "subscribe"}))
        assert (await frame(gina_ws))["type"] == "subscribed"


async def test_a_revoked_members_queued_commands_never_run(
    client: httpx.AsyncClient, hub: Hub, access: Access
) -> None:
    access.guard(hub.commands)
    hub.commands.detach("mqtt")  # the device is away: commands wait in the outbox
    fred = bearer(await login(client, "fred"))
    owner = bearer(await login(client, "olivia"))
    r = await client.post(
        "/api/devices/h1/purifier/commands", json={"kind": "action", "target": "turn_on"}, headers=fred
    )
    assert r.status_code == 202
    queued = r.json()["id"]
    assert (await client.post("/api/members/fred/revoke", headers=owner)).status_code == 200
    device = AckingDevice(hub, result=lambda command: {"ran": command.target})
    hub.commands.attach("mqtt", device)  # the device is back
    await hub.commands.redeliver("mqtt")
    assert device.received == []
    body = (await client.get(f"/api/commands/{queued}", headers=owner)).json()
    assert (body["status"], body["error"]) == ("failed", "fred was revoked")
    r = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=fred)
    print("\nrevocation: queued commands run after revocation 0, accepted after revocation 0")
    assert r.status_code == 401
