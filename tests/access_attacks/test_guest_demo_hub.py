"""A guest reads the car over KUKSA only with a grant that shows it, its position included,
and its charging plan only with a grant that names the car.

Runs ``carhome.compose.runtime.run`` over the demo configuration with the car served over the KUKSA
API, as a hub process does; the official kuksa-client reads the car with each member's
access token. KUKSA serves every signal at once, the car's position too.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import msgspec
import pytest
from kuksa_client.grpc import VSSClientError
from kuksa_client.grpc.aio import VSSClient

from carhome.connectors.kuksa.config import KuksaConfig, KuksaServe
from carhome.spec import vss
from hub_process import HOME, demo_hub, demo_settings, owner_login
from members_rig import bearer, login
from mqtt.conftest import free_port

GUEST, GUEST_PASSWORD = "gus", "guest-Pa55word-long"


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


async def reads(port: int, token: str) -> str:
    """What the KUKSA server answers ``token`` asking for the car's charge and position:
    ``values``, or the reason it refused."""
    try:
        async with VSSClient("127.0.0.1", port, token=token) as client:
            values = await client.get_current_values([vss.SOC, vss.LATITUDE])
    except VSSClientError as exc:
        return str(exc.error.get("reason"))
    return "values" if set(values) == {vss.SOC, vss.LATITUDE} else f"other values: {values}"


async def test_a_guest_reads_the_car_over_kuksa_only_when_granted_its_position(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port()
    config = demo_settings(data)
    config = msgspec.structs.replace(
        config, kuksa=KuksaConfig(serve=(KuksaServe(home=HOME, device="car", port=port),))
    )
    outcomes: dict[str, str] = {}
    plans: dict[str, tuple[list[str], int]] = {}
    async with (
        demo_hub(data, config) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=20) as client,
    ):
        owner = await owner_login(client, data)
        auth = bearer(owner)
        r = await client.post(
            "/api/members",
            json={"id": GUEST, "name": "Gus", "role": "guest", "password": GUEST_PASSWORD},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        guest_login = await login(client, GUEST, GUEST_PASSWORD)
        guest = bearer(guest_login)

        async def charging(headers: dict[str, str]) -> tuple[list[str], int]:
            listed = (await client.get("/api/charging", headers=headers)).json()
            one = await client.get(f"/api/charging/{HOME}/car", headers=headers)
            return [p["car"] for p in listed], one.status_code

        plans["owner"] = await charging(auth)
        outcomes["owner"] = await reads(port, owner["access_token"])
        for devices, targets in (
            (["living_room_purifier"], ["*"]),
            (["car"], ["*"]),
            (["car"], ["location"]),
        ):
            now = time.time()
            r = await client.post(
                f"/api/members/{GUEST}/grants",
                json={"devices": devices, "targets": targets, "starts": now - 60, "ends": now + 3600},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            outcomes[f"guest granted {devices[0]} {targets[0]}"] = await reads(
                port, guest_login["access_token"]
            )
            plans[f"guest granted {devices[0]} {targets[0]}"] = await charging(guest)
    print(f"\nKUKSA reads of the car: {outcomes}; charging plans seen: {plans}")
    assert outcomes == {
        "owner": "values",
        "guest granted living_room_purifier *": "unauthenticated",
        "guest granted car *": "unauthenticated",
        "guest granted car location": "values",
    }
    assert plans == {
        "owner": (["car"], 200),
        "guest granted living_room_purifier *": ([], 404),
        "guest granted car *": (["car"], 200),
        "guest granted car location": (["car"], 200),
    }
