"""``carhome demo --store postgresql://…`` as a process of its own: the hub's store is on the
throwaway PostgreSQL cluster, a command taken through the API keeps its final status across
a stop and a start, and the data directory holds no SQLite hub store; and ``carhome serve``
with a config naming ``store: postgresql://…`` keeps its homes and devices there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from click.testing import CliRunner

from carhome.cli.main import cli
from carhome.compose.config import load_config
from carhome.compose.demo import DEMO_HOME, DEMO_OWNER, demo_owner_password
from carhome.compose.runtime import DATABASE
from carhome.store import PostgresStore
from carhome_child import carhome_process
from hub_process import running_hub
from members_rig import bearer, login
from mqtt.conftest import free_port

START_S = 60.0


@contextlib.asynccontextmanager
async def _demo(data: Path, store: str, env: dict[str, str]) -> AsyncIterator[str]:
    """``carhome demo --store store`` running, from its announcement until it exited on
    SIGTERM with status 0; its API's URL."""
    api = free_port()
    async with carhome_process(
        "demo",
        "--data",
        str(data),
        "--api-port",
        str(api),
        "--mqtt-port",
        str(free_port()),
        "--store",
        store,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    ) as process:
        assert process.stdout is not None
        said = b""
        async with asyncio.timeout(START_S):
            while b"MQTT broker:" not in said:
                line = await process.stdout.readline()
                assert line, f"the demo stopped before it announced itself: {said.decode()}"
                said += line
        assert b"hub's store: postgresql://" in said, said.decode()
        yield f"http://127.0.0.1:{api}"
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(START_S):
            await process.communicate()
        assert process.returncode == 0


@pytest.mark.postgres
async def test_the_demo_on_postgresql_keeps_a_commands_final_status_across_a_restart(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "demo"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    device = f"/api/devices/{DEMO_HOME.id}/living_room_purifier/commands"

    async with _demo(data, postgres_url, env) as api, httpx.AsyncClient(base_url=api, timeout=30) as client:
        auth = bearer(await login(client, DEMO_OWNER, demo_owner_password(data)))
        r = await client.post(device, json={"kind": "action", "target": "turn_on", "wait": 20}, headers=auth)
        assert r.status_code == 200, r.text
        sent = r.json()
        assert sent["status"] == "acked", sent

    conn = await asyncpg.connect(postgres_url)
    try:
        kept = await conn.fetchval("SELECT status FROM commands WHERE id = $1", sent["id"])
    finally:
        await conn.close()
    assert kept == "acked"
    assert not (data / DATABASE).exists()  # the hub's store is not a SQLite file in the data directory

    async with _demo(data, postgres_url, env) as api, httpx.AsyncClient(base_url=api, timeout=30) as client:
        auth = bearer(await login(client, DEMO_OWNER, demo_owner_password(data)))
        r = await client.get(f"/api/commands/{sent['id']}", headers=auth)
        assert r.status_code == 200, r.text
        again = r.json()
    print(f"demo on postgresql, stopped and started: command {again['id']} is {again['status']}")
    assert again == sent


@pytest.mark.postgres
async def test_serve_with_a_config_naming_a_postgresql_store_keeps_the_hubs_store_there(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "carhome.yaml"
    config.write_text(
        f"hub:\n  data_dir: data\n  store: {postgres_url}\n"
        f"api:\n  port: 0\nmqtt:\n  builtin: {{port: {free_port()}}}\n"
        "homes:\n  - {id: h1, name: Home, lat: 39.79, lon: 116.5, devices: [{id: car, type: car}]}\n"
    )
    checked = CliRunner().invoke(cli, ["serve", "--config", str(config), "--check"])
    assert checked.exit_code == 0, checked.output
    assert f"hub's store {postgres_url}" in checked.output
    async with running_hub(load_config(config)) as running:
        assert running.store == postgres_url
    async with PostgresStore(postgres_url) as store:
        homes, devices = await store.homes(), await store.devices()
    print(f"serve on postgresql: {len(homes)} home(s), {len(devices)} device(s) in its store")
    assert [h.id for h in homes] == ["h1"]
    assert [(d.home, d.id) for d in devices] == [("h1", "car")]
    assert not (tmp_path / "data" / DATABASE).exists()
