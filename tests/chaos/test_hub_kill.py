"""What the API calls final is durable: kill -9 the hub, with its devices, 200 times under load.

The kill rig of the store tests (``tests/store/crash_rig.py``) at the size RELIABILITY.md
asks for: 200 seeded kill points, each restart on what the last kill left. Figures:
``acked-but-lost: 0`` (accepted is durable), ``final-but-not-durable: 0`` (every status the
hub announced final is the stored one, and stays so through every later restart),
``executed twice: 0`` (no device ran a redelivered command again), ``corrupt databases: 0``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from store.crash_rig import kill_runs

KILLS = 200


@pytest.mark.timeout(900)
async def test_two_hundred_kills_lose_nothing_final_and_run_nothing_twice(tmp_path: Path) -> None:
    figures = await kill_runs(tmp_path, KILLS, seed=20261205)
    print("\n" + figures.line())
    assert figures.kills == KILLS
    assert len(figures.told) > KILLS  # results were announced throughout
    assert figures.acked_but_lost == set()
    assert figures.final_but_not_durable == set()
    assert figures.corrupt == 0
    assert figures.not_final == 0
    assert figures.executed_twice == 0
    assert figures.acked_not_run == 0
    assert figures.run_not_acked == figures.interrupted
