"""``carhome worker``: a real process joins the fleet, serves its partitions, hands them back on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from carhome.cli.main import cli
from carhome.compose.config import parse_config
from carhome.errors import ConfigError
from carhome.store import PostgresStore
from carhome_child import carhome_process

from .tablelog import Writer, connected

HERE = Path(__file__).parent
PARTITIONS = 4
BOUND = 20.0


def config(tmp_path: Path, fleet: str) -> Path:
    path = tmp_path / "worker.yaml"
    path.write_text(f"hub: {{data_dir: data}}\n{fleet}")
    return path


@pytest.mark.parametrize(
    ("fleet", "said"),
    [
        pytest.param("", ["no fleet: section; a worker needs one"], id="no fleet section"),
        pytest.param(
            "fleet:\n  database: postgresql://db/fleet\n  worker: w1\n  heartbeat: 3\n  idle_timeout: 5\n",
            ["worker.yaml:5", "fleet.heartbeat: give at most half of idle_timeout"],
            id="a wrong heartbeat, by line",
        ),
        pytest.param(
            "fleet: {database: postgresql://db/fleet, worker: w1}\n",
            ["names no NATS cluster", "--log MODULE:NAME"],
            id="no log: what to give",
        ),
        pytest.param(
            "fleet:\n  database: postgresql://db/fleet\n  worker: w1\n  nats: [nats://n1:4222]\n",
            ["worker.yaml:2", "fleet.nats_password: give the password of the NATS user 'fleet-worker'"],
            id="a NATS cluster without the worker's password, by line",
        ),
    ],
)
def test_a_worker_config_it_cannot_serve_is_refused_in_words(
    tmp_path: Path, fleet: str, said: list[str]
) -> None:
    result = CliRunner().invoke(cli, ["worker", "--config", str(config(tmp_path, fleet))])
    assert result.exit_code == 1
    for words in said:
        assert words in result.output
    assert "Traceback" not in result.output


@pytest.mark.postgres
async def test_the_worker_serves_every_partition_and_hands_them_back_on_sigterm(
    tmp_path: Path, postgres_url: str
) -> None:
    async with PostgresStore(postgres_url):
        pass  # the hub's tables
    await Writer(postgres_url, PARTITIONS).create()
    fleet = (
        f"fleet: {{database: '{postgres_url}', worker: w1, partitions: {PARTITIONS},"
        " heartbeat: 0.2, idle_timeout: 2}\n"
    )
    async with carhome_process(
        "worker",
        "--config",
        str(config(tmp_path, fleet)),
        "--log",
        "tablelog:open_log",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        async with asyncio.timeout(BOUND):
            assert b"worker w1 joined the fleet of 4 partitions" in await process.stdout.readline()
            served: set[bytes] = set()
            while len(served) < PARTITIONS:
                line = await process.stderr.readline()
                assert line, "the worker ended before it served every partition"
                if b"carhome.compose.worker: partition " in line:
                    served.add(line.split(b"partition ")[1].split()[0])
            process.send_signal(signal.SIGTERM)
            said = (await process.stdout.read()).decode()
            assert await process.wait() == 0
    assert "worker w1 left the fleet: stopped by a signal" in said
    async with connected(postgres_url) as conn:
        owners = [row["owner"] for row in await conn.fetch("SELECT owner FROM fleet_partitions")]
    assert owners == [None] * PARTITIONS  # each handed back, not left to a timeout


def test_the_fleet_section_is_read_whole_and_a_database_not_on_postgresql_is_refused_by_line() -> None:

    fleet = parse_config(
        "fleet:\n  database: postgresql://db/fleet\n  worker: w1\n  partitions: 16\n"
        "  nats: [nats://n1:4222]\n  nats_password: secret\n"
    ).fleet
    assert fleet is not None
    assert (fleet.worker, fleet.partitions, fleet.heartbeat, fleet.idle_timeout) == ("w1", 16, 1.0, 5.0)
    assert fleet.nats == ("nats://n1:4222",)
    with pytest.raises(
        ConfigError, match=r"x\.yaml:2: fleet\.database: a fleet keeps its homes in PostgreSQL"
    ):
        parse_config("fleet:\n  database: sqlite:///hub.db\n  worker: w1\n", file="x.yaml")
