"""The local API, end to end through ASGI against a real hub."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from carhome.api import create_app
from carhome.hub import Ack, Command, CommandStatus, Decision, Device, Home, Hub
from carhome.spec import DeviceSpec, vss
from carhome.store import MemoryStore
from carhome.testing import AckingDevice, FakeClock, settle

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The problem body, after checking it is one of the expected kind."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:carhome:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


# -- reading ---------------------------------------------------------------------------


async def test_health_says_the_hub_runs(client: httpx.AsyncClient, clock: FakeClock) -> None:
    body = (await client.get("/api/health")).json()
    assert body == {
        "status": "ok",
        "time": clock.time(),
        "homes": 1,
        "devices": 2,
        "pending_commands": 0,
        "problems": [],
    }


async def test_homes_list_each_home_with_its_device_count(client: httpx.AsyncClient) -> None:
    [home] = (await client.get("/api/homes")).json()
    assert home["id"] == "h1"
    assert home["name"] == "Yizhuang"
    assert home["devices"] == 2
    assert home["timezone"] == "UTC"


async def test_devices_list_with_availability(client: httpx.AsyncClient, hub: Hub) -> None:
    hub.set_available("h1", "car", True)
    body = (await client.get("/api/devices")).json()
    by_id = {d["id"]: d for d in body}
    assert by_id["car"] == {
        "id": "car",
        "home": "h1",
        "type": "car",
        "name": "Car",
        "room": None,
        "connector": "mqtt",
        "online": True,
    }
    assert by_id["purifier"]["room"] == "living_room"
    assert by_id["purifier"]["online"] is None


async def test_devices_of_one_home(client: httpx.AsyncClient, hub: Hub) -> None:
    await hub.add_home(Home(id="h2", name="Cottage", lat=40.0, lon=116.0))
    await hub.add_device(Device(home="h2", id="lamp", type="light"))
    body = (await client.get("/api/devices", params={"home": "h2"})).json()
    assert [d["id"] for d in body] == ["lamp"]


async def test_devices_of_an_unknown_home_is_404(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/api/devices", params={"home": "nope"}), 404, "unknown-home")
    assert body["home"] == "nope"
    assert body["known"] == ["h1"]


async def test_device_renders_its_spec_as_data(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/devices/h1/purifier")).json()
    assert body["device"]["type"] == "air_purifier"
    props = {p["name"]: p for p in body["spec"]["properties"]}
    assert props["mode"]["allowed"] == ["auto", "sleep", "favorite", "fan"]
    assert props["mode"]["access"] == ["read", "write", "notify"]
    assert props["pm25"]["access"] == ["read", "notify"]
    assert props["fan_level"]["minimum"] == 1
    assert props["fan_level"]["maximum"] == 3
    assert props["pm25"]["unit"] == "ug/m3"
    assert {a["name"] for a in body["spec"]["actions"]} == {"turn_on", "turn_off", "toggle"}


async def test_device_renders_typed_action_arguments_and_events(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/devices/h1/car")).json()["spec"]
    actions = {a["name"]: a for a in spec["actions"]}
    [arg] = actions["climate_on"]["args"]
    assert arg["name"] == "temperature"
    assert arg["format"] == "float"
    assert arg["unit"] == "celsius"
    assert (arg["minimum"], arg["maximum"]) == (15, 28)
    assert actions["climate_on"]["optional"] == ["temperature"]
    assert actions["lock"]["domain"] == "car_doors"
    events = {e["name"]: e for e in spec["events"]}
    assert events["alarm"]["fields"][0]["name"] == "reason"
    assert any(p["name"] == vss.SOC for p in spec["properties"])


async def test_device_state_has_value_time_and_source(
    client: httpx.AsyncClient, hub: Hub, clock: FakeClock
) -> None:
    hub.report("h1", "purifier", {"pm25": 35, "mode": "auto"}, source="mqtt")
    ts = clock.time()
    await clock.advance(5)
    body = (await client.get("/api/devices/h1/purifier")).json()
    assert body["state"] == {
        "pm25": {"value": 35, "ts": ts, "source": "mqtt"},
        "mode": {"value": "auto", "ts": ts, "source": "mqtt"},
    }
    assert body["now"] == ts + 5


async def test_unknown_device_is_404(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/api/devices/h1/toaster"), 404, "unknown-device")
    assert body["home"] == "h1"
    assert body["device"] == "toaster"
    assert "car" in body["detail"]


# -- commands --------------------------------------------------------------------------


async def test_set_and_wait_returns_the_acked_command(
    client: httpx.AsyncClient, device: AckingDevice
) -> None:
    r = await client.post(
        "/api/devices/h1/purifier/commands",
        json={"kind": "set", "target": "mode", "args": {"value": "sleep"}, "wait": 5},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acked"
    assert body["result"] == {"ran": "mode", "value": "sleep"}
    assert body["member"] == "alice"
    assert body["face"] == "api"
    assert r.headers["location"] == f"/api/commands/{body['id']}"
    assert [c.id for c in device.received] == [body["id"]]


async def test_action_without_wait_is_202_as_soon_as_it_is_durable(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands",
        json={"kind": "action", "target": "climate_on", "args": {"temperature": 21.5}, "ttl": 60},
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] in {"queued", "sent"}
    assert body["args"] == {"temperature": 21.5}
    assert body["expires"] - body["created"] == 60
    stored = await hub.store.commands()
    assert [c.id for c in stored] == [body["id"]]


async def test_a_device_without_a_transport_keeps_it_queued(client: httpx.AsyncClient, hub: Hub) -> None:
    await hub.add_device(Device(home="h1", id="wallbox", type="wallbox", connector="ocpp"))
    r = await client.post(
        "/api/devices/h1/wallbox/commands", json={"kind": "action", "target": "stop_charging"}
    )
    assert r.status_code == 202
    assert r.json()["status"] == "queued"


async def test_failed_command_carries_the_device_reason(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands", json={"kind": "action", "target": "unlock", "wait": 5}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "failed"
    assert r.json()["error"] == "a door is open"


async def test_command_that_gets_no_answer_expires(
    client: httpx.AsyncClient, clock: FakeClock, device: AckingDevice
) -> None:
    request = asyncio.create_task(
        client.post(
            "/api/devices/h1/car/commands",
            json={"kind": "action", "target": "climate_off", "ttl": 30, "wait": 5},
        )
    )
    await device.next(wait=2)
    await clock.advance(31)
    r = await asyncio.wait_for(request, 5)
    assert r.status_code == 200
    assert r.json()["status"] == "expired"


async def test_wait_that_runs_out_is_202_with_the_pending_command(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands", json={"kind": "action", "target": "climate_off", "wait": 0.01}
    )
    assert r.status_code == 202
    assert r.json()["status"] == "sent"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"{not json", None, "not valid JSON"),
        (b'{"kind": "jump", "target": "lock"}', "$.kind", "allowed: 'set' (write a property) or 'action'"),
        (b'{"target": "lock"}', None, "missing required field `kind`"),
        (b'{"kind": "action", "target": "lock", "colour": 1}', None, "unknown field `colour`"),
        (b'{"kind": "action", "target": "lock", "ttl": -1}', "$.ttl", "> 0"),
        (b'{"kind": "action", "target": "lock", "wait": 600}', "$.wait", "<= 60"),
        (b'{"kind": "action", "target": "lock", "args": [1]}', "$.args", "Expected `object`"),
        (b'{"kind": "action", "target": ""}', "$.target", "length >= 1"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(
    client: httpx.AsyncClient, body: bytes, field: str | None, words: str
) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands", content=body, headers={"content-type": "application/json"}
    )
    got = problem(r, 422, "invalid-body")
    assert got.get("field") == field
    assert words in got["detail"]


async def test_out_of_range_value_is_422_with_property_and_allowed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/purifier/commands", json={"kind": "set", "target": "fan_level", "args": {"value": 9}}
    )
    body = problem(r, 422, "invalid-command")
    assert body["device"] == "purifier"
    assert body["property"] == "fan_level"
    assert body["reason"] == "9 is out of range"
    assert body["allowed"] == "int from 1 to 3"


async def test_read_only_property_is_422_listing_the_writable_ones(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/purifier/commands", json={"kind": "set", "target": "pm25", "args": {"value": 3}}
    )
    body = problem(r, 422, "invalid-command")
    assert "read-only" in body["reason"]
    assert "mode" in body["allowed"]


async def test_unknown_action_is_422_listing_the_known_ones(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/devices/h1/car/commands", json={"kind": "action", "target": "fly"})
    body = problem(r, 422, "invalid-command")
    assert body["action"] == "fly"
    assert "climate_on" in body["allowed"]


async def test_bad_argument_type_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands",
        json={"kind": "action", "target": "climate_on", "args": {"temperature": "warm"}},
    )
    body = problem(r, 422, "invalid-command")
    assert "temperature" in body["reason"]


async def test_ttl_beyond_a_day_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/devices/h1/car/commands", json={"kind": "action", "target": "lock", "ttl": 90_000}
    )
    assert "ttl" in problem(r, 422, "invalid-command")["reason"]


async def test_command_for_unknown_device_is_404_whatever_the_body(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/devices/h1/toaster/commands", content=b"junk")
    problem(r, 404, "unknown-device")


async def test_huge_body_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/devices/h1/car/commands", content=b" " * 70_000)
    assert problem(r, 413, "too-large")["limit"] == 65_536


class DenyGuests:
    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        if command.member == "guest":
            return Decision(False, "guests may not unlock the car")
        return Decision(True, "ok")


async def test_denied_command_is_403(clock: FakeClock) -> None:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=DenyGuests()) as hub:
        await hub.add_home(Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060))
        await hub.add_device(Device(home="h1", id="car", type="car"))
        transport = httpx.ASGITransport(app=create_app(hub, member="guest"))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
            r = await c.post("/api/devices/h1/car/commands", json={"kind": "action", "target": "unlock"})
        body = problem(r, 403, "command-denied")
        assert body["member"] == "guest"
        assert body["reason"] == "guests may not unlock the car"
        assert await hub.store.commands() == []


async def test_get_command_by_id(client: httpx.AsyncClient) -> None:
    made = (
        await client.post(
            "/api/devices/h1/car/commands", json={"kind": "action", "target": "lock", "wait": 5}
        )
    ).json()
    r = await client.get(f"/api/commands/{made['id']}")
    assert r.status_code == 200
    assert r.json()["status"] == "acked"
    assert r.json()["id"] == made["id"]


async def test_get_command_can_wait_for_its_result(client: httpx.AsyncClient, hub: Hub) -> None:
    made = (
        await client.post("/api/devices/h1/car/commands", json={"kind": "action", "target": "climate_off"})
    ).json()
    request = asyncio.create_task(client.get(f"/api/commands/{made['id']}", params={"wait": "5"}))
    await settle()  # the request waits for the result
    hub.ack("h1", "car", Ack(made["id"], "acked", result="late but fine"))
    r = await asyncio.wait_for(request, 5)
    assert r.json()["status"] == "acked"
    assert r.json()["result"] == "late but fine"


async def test_get_command_falls_back_to_the_store(
    client: httpx.AsyncClient, hub: Hub, clock: FakeClock
) -> None:
    old = Command(
        id="feedbeef",
        home="h1",
        device="car",
        kind="action",
        target="lock",
        args={},
        member="bob",
        face="cli",
        created=clock.time() - 99,
        expires=clock.time() - 69,
        status=CommandStatus.ACKED,
    )
    await hub.store.outbox_put(old)
    r = await client.get("/api/commands/feedbeef")
    assert r.status_code == 200
    assert r.json()["member"] == "bob"


async def test_unknown_command_is_404(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/api/commands/nope"), 404, "unknown-command")
    assert body["command"] == "nope"


async def test_commands_list_newest_first_with_live_status(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = (
        await client.post(
            "/api/devices/h1/car/commands", json={"kind": "action", "target": "lock", "wait": 5}
        )
    ).json()
    await clock.advance(1)
    second = (
        await client.post(
            "/api/devices/h1/purifier/commands", json={"kind": "action", "target": "turn_on", "wait": 5}
        )
    ).json()
    body = (await client.get("/api/commands")).json()
    assert [c["id"] for c in body["commands"]] == [second["id"], first["id"]]
    assert [c["status"] for c in body["commands"]] == ["acked", "acked"]
    assert body["now"] == clock.time()
    one = (await client.get("/api/commands", params={"limit": "1", "home": "h1"})).json()
    assert [c["id"] for c in one["commands"]] == [second["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "$.limit"), ({"limit": "lots"}, "$.limit"), ({"colour": "red"}, None)],
)
async def test_bad_query_is_422(client: httpx.AsyncClient, params: dict[str, str], field: str | None) -> None:
    body = problem(await client.get("/api/commands", params=params), 422, "invalid-query")
    assert body.get("field") == field


async def test_commands_of_unknown_home_is_404(client: httpx.AsyncClient) -> None:
    problem(await client.get("/api/commands", params={"home": "h9"}), 404, "unknown-home")


# -- rejections and the rest -----------------------------------------------------------


async def test_rejections_are_counted_by_reason_with_the_latest_messages(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    hub.report("h1", "purifier", {"pm25": -4, "fan_level": "high", "humidity": 50})
    hub.report("h1", "purifier", {"pm25": 5000})
    body = (await client.get("/api/rejections")).json()
    assert body["total"] == 3
    assert body["counts"] == {"out_of_range": 2, "wrong_type": 1}
    newest = body["last"][0]
    assert newest["property"] == "pm25"
    assert newest["code"] == "out_of_range"
    assert "5000" in newest["message"]
    assert len(body["last"]) == 3


async def test_unknown_path_is_a_problem(client: httpx.AsyncClient) -> None:
    assert "/api" in problem(await client.get("/nope"), 404, "not-found")["detail"]


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    problem(await client.delete("/api/devices"), 405, "method-not-allowed")


async def test_a_wrong_method_says_which_are_allowed(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/devices")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
