"""``Idempotency-Key`` on the command route: a client's retry is the same command.

A client that got no answer sends the request again with the same key and gets the record
of the command the first request made — same id, delivered once — even after the hub
restarted; the same key with another request is refused; no key, as before, makes a new
command each time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from carhome.api import create_app
from carhome.hub import Device, Home, Hub
from carhome.store import SqliteStore
from carhome.testing import AckingDevice, FakeClock

ROUTE = "/api/devices/h1/purifier/commands"
SLEEP: dict[str, Any] = {"kind": "set", "target": "mode", "args": {"value": "sleep"}, "wait": 5}


@asynccontextmanager
async def _client(hub: Hub, member: str = "alice") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hub, member=member))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        yield client


async def test_the_same_key_twice_is_one_command_and_no_key_is_two(
    client: httpx.AsyncClient, hub: Hub, device: AckingDevice
) -> None:
    key = {"Idempotency-Key": "4b7e0c1a-retry-after-timeout"}
    first = await client.post(ROUTE, json=SLEEP, headers=key)
    again = await client.post(ROUTE, json=SLEEP, headers=key)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    assert again.headers["location"] == f"/api/commands/{first.json()['id']}"
    keyed = len(device.received)
    # Without the key, as before: each request is a command.
    for _ in range(2):
        assert (await client.post(ROUTE, json=SLEEP)).status_code == 200
    # Keys are the member's own: another member's same key is another command.
    async with _client(hub, "bob") as bob:
        other = await bob.post(ROUTE, json=SLEEP, headers=key)
    assert other.status_code == 200
    assert other.json()["id"] != first.json()["id"]
    unkeyed = len(device.received) - keyed - 1  # bob's is the last
    print(f"idempotent retries: {keyed} command for 2 requests; without a key: {unkeyed} for 2")
    assert keyed == 1
    assert [c.id for c in device.received].count(first.json()["id"]) == 1
    assert len(await hub.store.commands()) == 4


async def test_a_retry_still_pending_answers_202_with_the_same_command(
    client: httpx.AsyncClient, device: AckingDevice
) -> None:
    body = {"kind": "action", "target": "climate_off", "wait": 0.01}  # the car does not answer it
    key = {"Idempotency-Key": "k-1"}
    first = await client.post("/api/devices/h1/car/commands", json=body, headers=key)
    again = await client.post("/api/devices/h1/car/commands", json=body, headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert len(device.received) == 1


@pytest.mark.parametrize(
    ("changed", "differs"),
    [
        ({"args": {"value": "auto"}}, "args"),
        ({"target": "fan_level", "args": {"value": 2}}, "target, args"),
        ({"ttl": 90}, "ttl"),
    ],
)
async def test_the_same_key_with_another_request_is_refused(
    client: httpx.AsyncClient, hub: Hub, changed: dict[str, Any], differs: str
) -> None:
    key = {"Idempotency-Key": "one-key"}
    assert (await client.post(ROUTE, json=SLEEP, headers=key)).status_code == 200
    r = await client.post(ROUTE, json={**SLEEP, **changed}, headers=key)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith(":idempotency-key-reused")
    assert problem["header"] == "Idempotency-Key"
    assert f"differs in {differs}" in problem["detail"]
    assert "new key" in problem["detail"]
    assert len(await hub.store.commands()) == 1


async def test_the_same_key_on_another_device_is_refused(client: httpx.AsyncClient, hub: Hub) -> None:
    key = {"Idempotency-Key": "one-key"}
    assert (await client.post(ROUTE, json=SLEEP, headers=key)).status_code == 200
    r = await client.post(
        "/api/devices/h1/car/commands", json={"kind": "action", "target": "lock"}, headers=key
    )
    assert r.status_code == 422
    assert "differs in device" in r.json()["detail"]
    assert len(await hub.store.commands()) == 1


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 129, "cl\xe9".encode("latin-1"), b"tab\there"],
    ids=["empty", "129 characters", "not ASCII", "control character"],
)
async def test_a_malformed_key_is_a_clear_422(client: httpx.AsyncClient, hub: Hub, value: bytes) -> None:
    r = await client.post(ROUTE, json=SLEEP, headers={"Idempotency-Key": value})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith(":invalid-idempotency-key")
    assert "1 to 128 printable ASCII characters" in problem["detail"]
    assert await hub.store.commands() == []


async def test_a_key_of_128_printable_characters_is_taken(
    client: httpx.AsyncClient, device: AckingDevice
) -> None:
    key = {"Idempotency-Key": "".join(chr(32 + i % 95) for i in range(128))}
    answers = [await client.post(ROUTE, json=SLEEP, headers=key) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(device.received) == 1


async def test_a_retry_after_the_hub_restarted_is_the_same_command(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "hub.db"
    key = {"Idempotency-Key": "before-the-restart"}
    answers = []
    received = 0
    for _ in range(2):  # the same request, before and after a restart
        async with Hub(store=SqliteStore(db), clock=clock) as hub:
            if not hub.homes():
                await hub.add_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
                await hub.add_device(Device(home="h1", id="purifier", type="air_purifier"))
            device = AckingDevice(hub)
            hub.commands.attach("mqtt", device)
            async with _client(hub) as client:
                answers.append(await client.post(ROUTE, json=SLEEP, headers=key))
            received += len(device.received)
            stored = len(await hub.store.commands())
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json()["id"] == answers[0].json()["id"]
    assert answers[1].json()["status"] == "acked"
    assert (received, stored) == (1, 1)
