"""A device's executed-command log: on disk before a command runs, bounded, kept across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from carhome.mqtt.executed import FILE, Executed, ExecutedLog

T0 = 1_767_225_600.0


async def test_what_a_device_ran_is_there_after_a_restart(tmp_path: Path) -> None:
    log = ExecutedLog(tmp_path / "lamp")
    await log.open()
    await log.begin("a", T0 + 30, T0)
    await log.finish("a", T0 + 30, b'{"id":"a","status":"acked"}', T0)
    await log.begin("b", T0 + 30, T0)  # the device stopped while running this one
    await log.close()

    again = ExecutedLog(tmp_path / "lamp")
    await again.open()
    try:
        assert await again.recall(T0 + 1) == [
            Executed("a", T0 + 30, b'{"id":"a","status":"acked"}'),
            Executed("b", T0 + 30, None),
        ]
    finally:
        await again.close()
    assert (tmp_path / "lamp" / FILE).exists()


async def test_the_log_keeps_only_unexpired_ids_and_at_most_keep_of_them(tmp_path: Path) -> None:
    log = ExecutedLog(tmp_path, keep=5)
    await log.open()
    try:
        for n in range(20):
            await log.begin(f"c{n}", T0 + n + 10, T0 + n)
            await log.finish(f"c{n}", T0 + n + 10, b"ack", T0 + n)
        recalled = await log.recall(T0 + 19)
        assert [e.id for e in recalled] == ["c15", "c16", "c17", "c18", "c19"]
        # past their expiry the device refuses them anyway: they go
        assert [e.id for e in await log.recall(T0 + 27)] == ["c18", "c19"]
    finally:
        await log.close()
    with sqlite3.connect(tmp_path / FILE) as conn:
        assert conn.execute("SELECT count(*) FROM executed").fetchone()[0] == 2
