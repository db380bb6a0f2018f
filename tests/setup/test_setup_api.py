"""The first run over the API: the first owner made with the one-time setup code, the home
step and the device hints.

A real hub (memory store, fake clock) with the access parts of a hub process (``Access.open``
over a temporary directory) and the app a served hub builds: ``create_app`` plus the setup
routes, over a real HTTP client (httpx over ASGI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from carhome.access.firstrun import FirstRun
from carhome.access.members import Member
from carhome.access.service import Access
from carhome.api import create_app
from carhome.compose.setup import SetupFacts, setup_routes
from carhome.energy.homeprices import HomePrices
from carhome.hub import Device, Home, Hub
from carhome.store.memory import MemoryStore
from carhome.testing import FakeClock
from carhome.wire.members import Role
from members_rig import open_access

PASSWORD = "a long first password"
CODE = "ABCD-EFGH-JKMN"


@pytest.fixture
async def access(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Access]:
    async with open_access(tmp_path / "data", clock) as made:
        yield made


@pytest.fixture
async def hub(clock: FakeClock, access: Access) -> AsyncIterator[Hub]:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub:
        await hub.add_home(Home(id="flat", name="Flat", lat=39.79, lon=116.50, timezone="Asia/Shanghai"))
        await hub.add_device(Device(home="flat", id="car", type="car"))
        yield hub


def _facts(tmp_path: Path, configured: dict[str, Any]) -> SetupFacts:
    return SetupFacts(
        configured=configured,
        prices=HomePrices.beside(tmp_path),
        mqtt_url="mqtt://127.0.0.1:1883",
        builtin_broker=True,
        ocpp_url="ws://127.0.0.1:9000/ocpp/{charger}",
        chargers=(("garage-1", "flat", "wallbox"), ("other-1", "elsewhere", "wallbox")),
    )


def _client(hub: Hub, access: Access, first_run: FirstRun | None, facts: SetupFacts) -> httpx.AsyncClient:
    app = create_app(hub, access=access)
    app.router.routes.extend(setup_routes(hub, access, first_run, facts))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


def _first_run(access: Access) -> FirstRun:
    return FirstRun(access.members, access.passwords, access.throttle, code=CODE)


def _owner(code: str = CODE, member: str = "ana", **more: Any) -> dict[str, Any]:
    return {"code": code, "member": member, "name": "Ana", "password": PASSWORD, **more}


async def test_a_hub_without_members_waits_for_its_owner_and_a_missing_code_is_refused(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        status = await client.get("/api/setup")
        assert status.status_code == 200
        assert status.json() == {"needs_owner": True}
        missing = await client.post("/api/setup/owner", json={"member": "ana", "password": PASSWORD})
        assert missing.status_code == 422
        assert "code" in missing.json()["detail"]
        empty = await client.post("/api/setup/owner", json=_owner(code=""))
        assert empty.status_code == 403
        assert empty.json()["field"] == "code"
    assert list(access.members) == []


async def test_wrong_codes_are_refused_and_throttled_like_logins(
    hub: Hub, access: Access, clock: FakeClock, tmp_path: Path
) -> None:
    tries = 40
    let_through = 0
    statuses: list[int] = []
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        for n in range(tries):
            r = await client.post("/api/setup/owner", json=_owner(code=f"WRONG{n:04d}XYZ"))
            statuses.append(r.status_code)
            let_through += r.status_code == 201
        # while throttled even the right code waits: being throttled says nothing about it
        held = await client.post("/api/setup/owner", json=_owner())
        assert held.status_code == 429
        assert int(held.headers["Retry-After"]) >= 1
        await clock.advance(int(held.headers["Retry-After"]) + 1)
        made = await client.post("/api/setup/owner", json=_owner(code="abcd efgh-jkmn"))  # as typed
        assert made.status_code == 201, made.text
    print(f"wrong setup codes let through: {let_through} of {tries}")
    assert let_through == 0
    assert statuses[:5] == [403] * 5  # the login throttle's five tries per account and address
    assert set(statuses[5:]) == {429}


async def test_the_right_code_makes_the_owner_once_and_setup_is_done_after(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        r = await client.post("/api/setup/owner", json=_owner())
        assert r.status_code == 201, r.text
        tokens = r.json()
        assert (tokens["member"], tokens["home"]) == ("ana", "flat")  # the hub's home
        owner = access.members.get("ana")
        assert owner is not None
        assert (owner.role, owner.name, owner.home) == (Role.OWNER, "Ana", "flat")
        # the tokens work, and so does the password
        me = await client.get("/api/members", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 200
        assert [m["id"] for m in me.json()] == ["ana"]
        login = await client.post("/api/auth/login", json={"member": "ana", "password": PASSWORD})
        assert login.status_code == 200
        # the code is spent: the same code, another member, no code at all — setup is done
        for body in (_owner(), _owner(member="eve"), {"member": "eve", "password": PASSWORD}):
            again = await client.post("/api/setup/owner", json=body)
            assert again.status_code == 409, again.text
            assert again.json()["type"].endswith("setup-done")
        assert (await client.get("/api/setup")).json() == {"needs_owner": False}
    assert [m.id for m in access.members] == ["ana"]


async def test_two_owners_racing_with_the_right_code_make_one(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        answers = await asyncio.gather(
            *(client.post("/api/setup/owner", json=_owner(member=f"racer{n}")) for n in range(4))
        )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert len(list(access.members)) == 1


async def test_a_weak_password_or_a_bad_id_does_not_spend_the_code(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        weak = await client.post("/api/setup/owner", json={**_owner(), "password": "short"})
        assert (weak.status_code, weak.json()["field"]) == (422, "password")
        bad = await client.post("/api/setup/owner", json=_owner(member="Not An Id"))
        assert (bad.status_code, bad.json()["field"]) == (422, "member")
        assert (await client.get("/api/setup")).json() == {"needs_owner": True}
        assert (await client.post("/api/setup/owner", json=_owner())).status_code == 201


async def test_a_hub_with_a_member_has_no_setup_code(hub: Hub, access: Access, tmp_path: Path) -> None:
    await access.members.add(Member(id="olivia", home="flat", name="Olivia", role=Role.OWNER))
    first_run = FirstRun.begin(access.members, access.passwords, access.throttle)
    assert first_run is None
    async with _client(hub, access, first_run, _facts(tmp_path, {})) as client:
        assert (await client.get("/api/setup")).json() == {"needs_owner": False}
        assert (await client.post("/api/setup/owner", json=_owner())).status_code == 409


async def test_a_code_made_at_random_is_long_and_printed_in_groups(access: Access) -> None:
    codes = set()
    for _ in range(50):
        first_run = FirstRun.begin(access.members, access.passwords, access.throttle)
        assert first_run is not None
        codes.add(first_run.code)
    assert len(codes) == 50
    assert all(len(c) == 14 and c.count("-") == 2 for c in codes)


async def _owner_session(client: httpx.AsyncClient, **more: Any) -> dict[str, str]:
    r = await client.post("/api/setup/owner", json=_owner(**more))
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_home_in_the_config_file_is_shown_read_only(hub: Hub, access: Access, tmp_path: Path) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {"flat": "time_of_use"})) as client:
        auth = await _owner_session(client)
        shown = await client.get("/api/setup/home", headers=auth)
        assert shown.json() == {
            "id": "flat",
            "name": "Flat",
            "lat": 39.79,
            "lon": 116.5,
            "timezone": "Asia/Shanghai",
            "tariff": "time_of_use",
            "price": None,
            "in_config": True,
            "exists": True,
        }
        body = {"name": "Other", "lat": 1, "lon": 2, "timezone": "UTC"}
        refused = await client.put("/api/setup/home", json=body, headers=auth)
        assert refused.status_code == 409
        assert "configuration file" in refused.json()["detail"]
    assert hub.home("flat").name == "Flat"


async def test_the_owner_makes_a_home_not_in_the_config_file(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    facts = _facts(tmp_path, {"flat": "none"})
    async with _client(hub, access, _first_run(access), facts) as client:
        auth = await _owner_session(client, home="cottage")
        shown = (await client.get("/api/setup/home", headers=auth)).json()
        assert (shown["id"], shown["exists"], shown["in_config"]) == ("cottage", False, False)
        body = {"name": "Cottage", "lat": 52.52, "lon": 13.405, "timezone": "Europe/Berlin", "price": 0.31}
        bad_zone = await client.put(
            "/api/setup/home", json={**body, "timezone": "Mars/Olympus"}, headers=auth
        )
        assert (bad_zone.status_code, bad_zone.json()["field"]) == (422, "$.timezone")
        bad_place = await client.put("/api/setup/home", json={**body, "lat": 91}, headers=auth)
        assert bad_place.status_code == 422
        done = await client.put("/api/setup/home", json=body, headers=auth)
        assert done.status_code == 200, done.text
        assert done.json()["tariff"] == "fixed"
        assert done.json()["price"] == 0.31
        again = await client.put("/api/setup/home", json={**body, "price": None}, headers=auth)
        assert (again.json()["tariff"], again.json()["price"]) == ("none", None)
    cottage = hub.home("cottage")
    assert (cottage.name, cottage.lat, cottage.lon, cottage.timezone) == (
        "Cottage",
        52.52,
        13.405,
        "Europe/Berlin",
    )
    assert {h.id for h in await hub.store.homes()} == {"flat", "cottage"}  # kept for the next start
    assert HomePrices.beside(tmp_path).all() == {}


async def test_only_an_owner_sets_the_home_up_and_devices_hints_come_from_the_settings(
    hub: Hub, access: Access, tmp_path: Path
) -> None:
    async with _client(hub, access, _first_run(access), _facts(tmp_path, {})) as client:
        auth = await _owner_session(client)
        await access.members.add(
            Member(
                id="fred",
                home="flat",
                name="Fred",
                role=Role.FAMILY,
                password=access.passwords.hash(PASSWORD),
            )
        )
        r = await client.post("/api/auth/login", json={"member": "fred", "password": PASSWORD})
        family = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert (await client.get("/api/setup/home", headers=family)).status_code == 403
        body = {"name": "x", "lat": 1, "lon": 2, "timezone": "UTC"}
        assert (await client.put("/api/setup/home", json=body, headers=family)).status_code == 403
        assert (await client.get("/api/setup/home")).status_code == 401
        hints = (await client.get("/api/setup/devices", headers=auth)).json()
    assert hints == {
        "home": "flat",
        "mqtt_url": "mqtt://127.0.0.1:1883",
        "builtin_broker": True,
        "state_topic": "carhome/flat/{device}/state",
        "command_topic": "carhome/flat/{device}/cmd",
        "credentials": "carhome mqtt credentials --config CONFIG_FILE --show flat/{device}",
        "ocpp_url": "ws://127.0.0.1:9000/ocpp/{charger}",
        "chargers": [{"id": "garage-1", "device": "wallbox", "url": "ws://127.0.0.1:9000/ocpp/garage-1"}],
        "devices": 1,
    }
