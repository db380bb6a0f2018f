"""``carhome fleet up|status|kill-worker``: a whole fleet on this machine, to try and to test.

``fleet up`` starts three NATS servers, a throwaway PostgreSQL, K workers and the simulated
homes (``carhome.compose.fleetup``), prints where they are and runs until Ctrl-C or SIGTERM;
``fleet status`` shows from PostgreSQL which worker holds which partition; ``fleet
kill-worker N`` kills worker N with SIGKILL, to watch its partitions move.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import click
import msgspec

DEFAULT_DIR = ".carhome-fleet"

_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Where the fleet keeps its servers' files and fleet.json.",
)


@click.group()
def fleet() -> None:
    """A fleet on this machine: NATS cluster, PostgreSQL, workers, simulated homes.

    \b
    Examples:
      carhome fleet up --homes 1000 --workers 2
      carhome fleet status
      carhome fleet kill-worker 1
    """


@fleet.command()
@click.option("--homes", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--partitions", type=click.IntRange(1, 4096), default=16, show_default=True)
@click.option("--rounds", type=click.IntRange(0), default=720, show_default=True, help="Changes of each car.")
@click.option(
    "--every", type=click.FloatRange(0.01), default=5.0, show_default=True, help="Seconds per round."
)
@click.option("--seed", type=int, default=1, show_default=True)
@_dir_option
def up(
    *, homes: int, workers: int, partitions: int, rounds: int, every: float, seed: int, directory: Path
) -> None:
    """Start a fleet and run it until Ctrl-C (or SIGTERM); then stop all of it."""
    from carhome.compose.fleetup import FleetUp  # noqa: PLC0415 - the composition loads only when run

    form = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=form)
    # the servers say a lot while the cluster forms: into a file of their own
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    servers = logging.FileHandler(directory / "nats.log")
    servers.setFormatter(logging.Formatter(form))
    nats_log = logging.getLogger("carhome.nats")
    nats_log.addHandler(servers)
    nats_log.propagate = False
    logging.getLogger("gmqtt").setLevel(logging.ERROR)  # a client closing as the fleet stops is no news
    composed = FleetUp(
        directory,
        homes=homes,
        workers=workers,
        partitions=partitions,
        rounds=rounds,
        every=every,
        seed=seed,
        say=click.echo,
    )

    async def run() -> None:
        ended = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, ended.set)
        await composed.run(ended)

    asyncio.run(run())
    click.echo("fleet up: stopped")


@fleet.command()
@_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(*, directory: Path, as_json: bool) -> None:
    """Show the live workers, the partitions each holds, those held by nobody, and whether the
    fleet holds every simulated device's last published state (lost: the partition's
    checkpoint passed it and the fleet has it not; behind: in the stream, not applied yet)."""
    from carhome.compose import fleetup  # noqa: PLC0415

    state = fleetup.read_state(directory)
    found = asyncio.run(fleetup.status(state, fleetup.read_simulator(directory)))
    if as_json:
        click.echo(msgspec.json.encode(found).decode())
        return
    for w in found.workers:
        label = f"worker {w.number}" if w.number is not None else "worker"
        alive = "live" if w.alive else "gone"
        held = " ".join(str(p) for p in w.partitions) or "none"
        click.echo(f"{label} ({w.id}, pid {w.pid}, {alive}): partitions {held}")
    # backlog: messages in the partition's stream after its checkpoint (not applied yet)
    click.echo("partition  holder     epoch  checkpoint  homes  backlog")
    for p in found.partitions:
        behind = "?" if p.behind is None else str(p.behind)
        click.echo(
            f"{p.partition:>9}  {p.holder or '-':<9}  {p.epoch:>5}  {p.checkpoint:>10}"
            f"  {p.homes:>5}  {behind:>7}"
        )
    click.echo(f"held by nobody: {' '.join(str(p) for p in found.unheld) or 'none'}")
    states = found.states
    if states is None:
        click.echo("states: the simulator has written no state file yet")
        return
    lost = "? (the streams did not answer)" if states.lost is None else str(states.lost)
    stream = "stream done" if states.done else "stream running"
    click.echo(
        f"states: {states.devices} devices, lost {lost}"
        f" (held {states.held}, behind {states.behind} not applied yet; {stream})"
    )
    if states.lost_devices:
        click.echo(f"  lost: {' '.join(states.lost_devices)}")


@fleet.command("kill-worker")
@click.argument("number", type=click.IntRange(1))
@_dir_option
def kill_worker(*, number: int, directory: Path) -> None:
    """Kill worker NUMBER at once (SIGKILL), to watch its partitions move (fleet status)."""
    from carhome.compose import fleetup  # noqa: PLC0415

    record = fleetup.kill_worker(fleetup.read_state(directory), number)
    click.echo(f"killed worker {number} ({record.id}, pid {record.pid})")
