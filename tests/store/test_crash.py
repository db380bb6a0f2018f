"""Acknowledged means durable, and so does final: kill -9 a hub under load, many times.

``crash_rig`` runs a hub and its devices in a child process (as the embedded hub runs with
its simulated home), kills it with SIGKILL at seeded points and checks after every restart
that each accepted command is kept, that each status the hub announced final is the stored
one and stays so, and, at the end, that no device ran a command twice.

``CARHOME_CRASH_RUNS`` sets the number of kills (default 20 here; the chaos suite,
``tests/chaos/test_hub_kill.py``, runs the 200 that RELIABILITY.md asks for).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .crash_rig import kill_runs

RUNS = int(os.environ.get("CARHOME_CRASH_RUNS", "20"))


@pytest.mark.timeout(600)
async def test_no_acknowledged_command_is_lost_when_the_hub_is_killed(tmp_path: Path) -> None:
    figures = await kill_runs(tmp_path, RUNS, seed=20260101)
    print("\n" + figures.line())
    assert len(figures.accepted) >= RUNS
    assert figures.told  # results were announced, so the check below had something to hold
    assert figures.broken() == {}


@pytest.mark.postgres
@pytest.mark.timeout(600)
async def test_no_acknowledged_command_is_lost_when_a_hub_on_postgresql_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    figures = await kill_runs(tmp_path, RUNS, seed=20260102, store=postgres_url)
    print(
        f"\npostgres crash: acked lost {len(figures.acked_but_lost)} of {len(figures.accepted)}"
        f" over {figures.kills} kills"
    )
    print(figures.line())
    assert len(figures.accepted) >= RUNS
    assert figures.told
    assert figures.broken() == {}
