"""What a demo hub leaves on disk is its owner's alone: files 0600, directories 0700.

Runs ``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite, the
simulated home) on free loopback ports, as ``carhome demo`` does; the owner logs in, sends
a command and has the hub make an automation delegate key, so every kind of file is made.
The data directory is walked while the hub runs (the databases' ``-wal`` files exist then)
and after it stopped.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from hub_process import HOME, demo_hub, owner_login, owner_writes
from members_rig import bearer


def modes(data: Path) -> dict[str, tuple[int, bool]]:
    """Every path under ``data`` (and ``data`` itself) with its permission bits and whether
    it is a directory, from one ``lstat`` each (a running broker makes and removes some)."""
    found = {".": (stat.S_IMODE(data.stat().st_mode), True)}
    for path in sorted(data.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:  # gone since the walk saw it
            continue
        found[str(path.relative_to(data))] = (stat.S_IMODE(mode), stat.S_ISDIR(mode))
    return found


def too_open(found: dict[str, tuple[int, bool]], data: Path) -> list[str]:
    wrong = []
    for name, (mode, is_dir) in found.items():
        want = 0o700 if is_dir else 0o600
        if mode != want:
            wrong.append(f"{name} {mode:o} (want {want:o})")
    return wrong


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


async def test_a_demo_hubs_data_directory_is_its_owners_alone(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    async with demo_hub(data) as running, httpx.AsyncClient(base_url=running.api_url, timeout=20) as client:
        auth = bearer(await owner_login(client, data))
        await owner_writes(client, auth)
        running_modes = modes(data)
    stopped_modes = modes(data)
    made = set(running_modes) | set(stopped_modes)
    for expected in (
        "access.db",
        "carhome.db",
        "carhome.db-wal",
        "carhome.history.db",
        "carhome.timers.db",
        "token.key",
        "owner-password",
        "mqtt-credentials.json",
        f"delegates/{HOME}/garage_door.pem",
        f"devices/{HOME}/car/device.pem",
    ):
        assert expected in made, f"the demo made no {expected}: {sorted(made)}"
    wrong = too_open(running_modes, data) + too_open(stopped_modes, data)
    print(f"\ndata directory of a demo run: {len(made)} paths, readable by others: {len(wrong)}")
    assert wrong == []
