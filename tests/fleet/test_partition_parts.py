"""What runs beside each partition's hub (``carhome.compose.partition``), in process: each
partition binds the automations and the charging controllers of the homes it holds, and
no other's; the config's sections are checked for a fleet before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from nats.aio.client import Client

from carhome.cli.main import cli
from carhome.compose.config import load_config, parse_config
from carhome.compose.partition import PartitionParts, load_automations
from carhome.errors import ConfigError
from carhome.fleet.log import partition_of
from carhome.hub.model import Device, Home
from carhome.parts.keys import CHARGER_CARS, TARIFFS
from carhome.pgdatabase import PgDatabase
from carhome.store import PostgresStore

from .tablelog import Writer
from .test_worker_apply import PARTITIONS, Commits, serving

AUTOMATIONS = """\
homes: [{homes}]
automations:
  - id: low
    triggers: [{{trigger: threshold, device: car, property: soc, below: 30}}]
    actions: [{{action: command, device: hall, name: turn_on}}]
"""


def one_home_per_partition() -> list[str]:
    homes: dict[int, str] = {}
    for i in range(100):
        homes.setdefault(partition_of(f"home{i}", PARTITIONS), f"home{i}")
    return [homes[p] for p in range(PARTITIONS)]


@pytest.mark.postgres
async def test_each_partition_binds_the_automations_and_charging_of_its_own_homes(
    tmp_path: Path, postgres_url: str
) -> None:
    homes = one_home_per_partition()
    async with PostgresStore(postgres_url) as store:
        for home in homes:
            await store.save_home(Home(id=home, name=home, lat=52.0, lon=13.0))
            await store.save_devices(
                [
                    Device(home=home, id="car", type="car", name="Car"),
                    Device(home=home, id="wallbox", type="wallbox", name="Wallbox"),
                    Device(home=home, id="hall", type="light", name="Hall"),
                ]
            )
    await Writer(postgres_url, PARTITIONS).create()
    (tmp_path / "low.yaml").write_text(AUTOMATIONS.format(homes=", ".join(homes)))
    charging = "".join(
        f"  - {{home: {home}, car: car, charger: wallbox, member: owner, tariff: {{fixed: 0.{i + 1}}}}}\n"
        for i, home in enumerate(homes)
    )
    config = parse_config(
        f"automations: {{files: [{tmp_path / 'low.yaml'}]}}\ncharging:\n{charging}"
        f"fleet: {{database: '{postgres_url}', worker: w1, partitions: {PARTITIONS}}}\n"
    )
    async with PgDatabase(postgres_url) as database:
        parts = PartitionParts(config, database, Client(), load_automations(config.automations.files))
        async with serving(postgres_url, "w1", Commits(), parts):
            bound = {
                p: (
                    sorted(a.id for a in served.engine.automations()),
                    dict(served.context.need(CHARGER_CARS)),
                    sorted(served.context.need(TARIFFS)),
                )
                for p, served in parts.served.items()
            }
    assert bound == {
        partition_of(home, PARTITIONS): ([f"{home}.low"], {(home, "wallbox"): "car"}, [home])
        for home in homes
    }


def test_an_automation_that_names_no_home_is_refused_for_a_fleet_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bare.yaml"
    path.write_text(
        "automations:\n  - id: low\n"
        "    triggers: [{trigger: threshold, device: car, property: soc, below: 30}]\n"
        "    actions: [{action: command, device: hall, name: turn_on}]\n"
    )
    with pytest.raises(
        ConfigError, match=r"bare\.yaml:2: .*a fleet worker binds each automation in its home"
    ):
        load_automations([path])


def test_automations_without_a_nats_cluster_are_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "worker.yaml"
    fleet = "fleet: {database: postgresql://db/fleet, worker: w1}\n"
    path.write_text(f"automations: {{files: [low.yaml]}}\n{fleet}")
    result = CliRunner().invoke(
        cli, ["worker", "--config", str(path), "--log", "carhome.fleet.jetstream:open_log"]
    )
    assert result.exit_code == 1
    assert "automations and charging send commands to devices over the NATS cluster" in result.output


def test_the_automation_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "worker.yaml"
    path.write_text("automations: {files: [low.yaml, shared/]}\n")
    files = load_config(path).automations.files
    assert files == (str(tmp_path / "low.yaml"), str(tmp_path / "shared"))
