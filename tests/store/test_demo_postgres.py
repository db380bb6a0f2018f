"""``carhome demo --store postgresql://…`` as a process of its own: the hub's store is on the
throwaway PostgreSQL cluster, a command taken through the API keeps its final status across
a stop and a start, and the data directory holds no SQLite hub store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from carhome.compose.demo import DEMO_HOME, DEMO_OWNER, demo_owner_password
from carhome.compose.runtime import DATABASE
from members_rig import bearer, login
from mqtt.conftest import free_port

START_S = 60.0


@contextlib.asynccontextmanager
async def _demo(data: Path, store: str, env: dict[str, str]) -> AsyncIterator[str]:
    """``carhome demo --store store`` running, from its announcement until it exited on
    SIGTERM with status 0; its API's URL."""
    api = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from carhome.cli.main import main; main()",
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
    )
    assert process.stdout is not None
    said = b""
    try:
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
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
