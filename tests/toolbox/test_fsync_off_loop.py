"""No fsync on the event loop: a demo hub writes every file it keeps from another thread.

Runs ``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite, the
simulated home) as ``carhome demo`` does, with ``os.fsync`` counted by the thread that
calls it. The owner logs in, sends a command, saves an automation and has the hub make an
automation delegate key, so the hub writes its databases' neighbours, automation files and
key files while it serves. SQLite's own syncs run on each file's thread by construction
(``carhome.sqlitefile``); this counts the ones carhome makes itself (``carhome.files``).
"""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path

import httpx
import pytest

from carhome.compose.demo import demo_owner_password
from hub_process import AUTOMATION, HOME, demo_hub, owner_login, owner_writes
from members_rig import bearer


class Fsyncs:
    """``os.fsync`` that counts its calls, and which of them ran on the event loop's thread."""

    def __init__(self, loop_thread: int) -> None:
        self._fsync = os.fsync
        self._loop_thread = loop_thread
        self.total = 0
        self.on_loop: list[str] = []

    def __call__(self, fd: int) -> None:
        self.total += 1
        if threading.get_ident() == self._loop_thread:
            try:
                what = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                what = f"fd {fd}"
            callers = [f"{f.filename.rpartition('/carhome/')[2]}:{f.lineno}" for f in _carhome_frames()]
            self.on_loop.append(f"{what} <- {' / '.join(callers)}")
        self._fsync(fd)


def _carhome_frames() -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_stack()[:-2] if "/src/carhome/" in f.filename]


async def test_a_serving_hub_never_fsyncs_on_its_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    data = tmp_path / "demo"
    demo_owner_password(data)  # made before the hub starts, as ``carhome demo`` makes it
    fsyncs = Fsyncs(threading.get_ident())
    monkeypatch.setattr(os, "fsync", fsyncs)
    async with demo_hub(data) as running, httpx.AsyncClient(base_url=running.api_url, timeout=20) as client:
        auth = bearer(await owner_login(client, data))
        await owner_writes(client, auth, AUTOMATION)
    assert (data / "delegates" / HOME / "garage_door.pem").exists()
    print(f"\nfsyncs on the event loop: {len(fsyncs.on_loop)} of {fsyncs.total}")
    assert fsyncs.total > 0  # the count sees the hub's writes
    assert fsyncs.on_loop == [], "\n".join(fsyncs.on_loop)
