"""A restart keeps people logged in, and what ended a session stays ended: through the API.

A hub with the access parts of a hub process (``Access.open`` over a data directory, and on
PostgreSQL over the hub's database too) serves its app; members log in, renew, log out; the
hub stops and starts again on the same data directory (and schema); their tokens are tried
on the new one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from carhome.access.passwords import Passwords
from carhome.access.service import Access
from carhome.api import create_app
from carhome.compose.config import load_config
from carhome.hub import Device, Home, Hub
from carhome.pgdatabase import PgDatabase
from carhome.store.memory import MemoryStore
from carhome.testing import FakeClock
from hub_process import running_hub
from members_rig import PASSWORD, add_members, bearer, login
from mqtt.conftest import free_port
from pgcluster import schema_name

Started = Callable[[Path], AbstractAsyncContextManager[httpx.AsyncClient]]


@contextlib.asynccontextmanager
async def served(access: Access, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub:
        for home in ("h1", "h2"):
            await hub.add_home(Home(id=home, name=home, lat=39.79, lon=116.50))
            await hub.add_device(Device(home=home, id="car", type="car"))
        transport = httpx.ASGITransport(app=create_app(hub, access=access))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def start(request: pytest.FixtureRequest, clock: FakeClock) -> Started:
    """Starts a hub on a data directory (and, on PostgreSQL, the test's schema); a client of
    its API for the block."""
    url = None
    if request.param == "postgres":
        url = await request.getfixturevalue("postgres_cluster").create_schema(schema_name())

    @contextlib.asynccontextmanager
    async def started(data: Path) -> AsyncIterator[httpx.AsyncClient]:
        async with contextlib.AsyncExitStack() as stack:
            postgres = None if url is None else await stack.enter_async_context(PgDatabase(url))
            cheap = Passwords(time_cost=1, memory_cost=1024)
            access = await stack.enter_async_context(
                Access.open(data, clock, passwords=cheap, postgres=postgres)
            )
            if access.members.get("olivia") is None:
                await add_members(access)
            yield await stack.enter_async_context(served(access, clock))

    return started


async def renew(client: httpx.AsyncClient, tokens: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh": tokens["refresh_token"]})


async def test_a_restart_keeps_people_logged_in_and_revoked_sessions_revoked(
    start: Started, tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    async with start(data) as client:
        fred = await login(client, "fred")
        nora = await login(client, "nora")
        olivia = await login(client, "olivia")
        r = await renew(client, fred)
        assert r.status_code == 200, r.text
        fred2 = r.json()  # fred's first refresh token is spent
        assert (await client.post("/api/auth/logout", headers=bearer(olivia))).status_code == 204
    async with start(data) as client:
        devices = await client.get("/api/devices", headers=bearer(fred2))
        assert devices.status_code == 200, devices.text
        assert {(d["home"], d["id"]) for d in devices.json()} == {("h1", "car")}
        assert (await client.get("/api/devices", headers=bearer(nora))).status_code == 200
        r = await renew(client, fred2)
        assert r.status_code == 200, r.text
        fred3 = r.json()
        assert (await client.get("/api/homes", headers=bearer(fred3))).status_code == 200
        # logged out before the restart: still out
        assert (await client.get("/api/devices", headers=bearer(olivia))).status_code == 401
        assert (await renew(client, olivia)).status_code == 401
    async with start(data) as client:
        # rotated away before the first restart and used after the second: refused, and
        # since a spent token coming back means it was copied, the session ends
        spent = await renew(client, fred)
        assert spent.status_code == 401
        assert "already used" in spent.json()["detail"]
        assert (await client.get("/api/devices", headers=bearer(fred3))).status_code == 401
        assert (await renew(client, fred3)).status_code == 401
    async with start(data) as client:
        refused = {
            "fred, after his spent token came back": (await renew(client, fred3)).status_code,
            "olivia, logged out": (await renew(client, olivia)).status_code,
        }
        kept = await renew(client, nora)
        assert kept.status_code == 200, kept.text
        assert (await client.get("/api/devices", headers=bearer(kept.json()))).status_code == 200
    statuses = ", ".join(f"{who}: {status}" for who, status in refused.items())
    print(f"\nafter 3 restarts nora's session renews; refused: {statuses}")
    assert set(refused.values()) == {401}


@pytest.mark.postgres
async def test_a_second_hub_on_the_same_database_takes_the_same_tokens(
    postgres_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    cheap = Passwords(time_cost=1, memory_cost=1024)
    async with (
        PgDatabase(postgres_url) as one,
        Access.open(tmp_path / "one", clock, passwords=cheap, postgres=one) as first,
    ):
        await add_members(first)
        async with served(first, clock) as client:
            olivia = await login(client, "olivia")
        # another process, its own data directory (no token.key shared), the same database
        async with (
            PgDatabase(postgres_url) as two,
            Access.open(tmp_path / "two", clock, passwords=cheap, postgres=two) as second,
        ):
            if second.members.get("olivia") is None:  # members in the data directory's access.db
                await add_members(second)
            assert second.tokens.check(olivia["access_token"]).member == "olivia"
    assert not (tmp_path / "one" / "token.key").exists()
    assert not (tmp_path / "two" / "token.key").exists()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A served hub's configuration, its store the SQLite file in its data directory or
    a schema of the test's own on PostgreSQL."""
    store = ""
    if request.param == "postgres":
        url = await request.getfixturevalue("postgres_cluster").create_schema(schema_name())
        store = f"  store: {url}\n"
    config = tmp_path / "carhome.yaml"
    config.write_text(
        f"hub:\n  data_dir: data\n{store}"
        f"api:\n  port: 0\nmqtt:\n  builtin: {{port: {free_port()}}}\n"
        "homes:\n  - {id: h1, name: Home, lat: 39.79, lon: 116.5, devices: [{id: car, type: car}]}\n"
    )
    return config


async def test_a_served_hub_restarted_keeps_its_sessions(hub_config: Path) -> None:
    config = load_config(hub_config)

    async def owner(access: Access) -> None:
        await access.ensure_owner("olivia", "h1", "Olivia", PASSWORD)

    async with (
        running_hub(config, owner=owner) as running,
        httpx.AsyncClient(base_url=running.api_url) as client,
    ):
        kept = await login(client, "olivia")
        ended = await login(client, "olivia")
        r = await renew(client, kept)
        assert r.status_code == 200, r.text
        renewed = r.json()
        assert (await client.post("/api/auth/logout", headers=bearer(ended))).status_code == 204
    async with (
        running_hub(config, owner=owner) as running,
        httpx.AsyncClient(base_url=running.api_url) as client,
    ):
        answers = {
            "renewed access token": (await client.get("/api/homes", headers=bearer(renewed))).status_code,
            "logged-out access token": (await client.get("/api/homes", headers=bearer(ended))).status_code,
            "logged-out refresh token": (await renew(client, ended)).status_code,
            "renewed refresh token": (await renew(client, renewed)).status_code,
        }
    print(f"\na served hub ({running.store or 'sqlite'}) after a restart: {answers}")
    assert answers == {
        "renewed access token": 200,
        "logged-out access token": 401,
        "logged-out refresh token": 401,
        "renewed refresh token": 200,
    }
    data = hub_config.parent / "data"
    assert (data / "token.key").exists() == (running.store is None)  # on PostgreSQL: in the database
