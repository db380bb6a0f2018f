"""A hub whose store is on PostgreSQL keeps its automation delegate keys there: started
again on the same database with an EMPTY new data directory, it holds the same delegate
key for the device (the one an owner may have enrolled), and wrote none into the data
directory.

Runs ``carhome.compose.runtime.run`` over the demo configuration with ``hub.store:
postgresql://…`` (a schema of the test's own) on free loopback ports.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub_process import HOME, demo_hub, on_postgres, owner_login
from members_rig import bearer

BOUND_S = 20.0


async def delegate_key(http: httpx.AsyncClient, auth: dict[str, str], device: str) -> str:
    r = await http.post(f"/api/keys/{HOME}/{device}/delegate/key", json={"domains": ["garage"]}, headers=auth)
    assert r.status_code == 200, r.text
    return str(r.json()["point"])


@pytest.mark.postgres
async def test_delegate_keys_outlive_the_data_directory(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, empty = tmp_path / "first", tmp_path / "empty"
    async with (
        demo_hub(first, on_postgres(first, postgres_url)) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=BOUND_S) as http,
    ):
        owner = bearer(await owner_login(http, first))
        made = await delegate_key(http, owner, "garage_door")
        assert await delegate_key(http, owner, "garage_door") == made  # made once, then kept
    written = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if "delegates" in p.parts)

    empty.mkdir()
    async with (
        demo_hub(empty, on_postgres(empty, postgres_url)) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=BOUND_S) as http,
    ):
        owner = bearer(await owner_login(http, first))  # the owner, too, is in the database
        again = await delegate_key(http, owner, "garage_door")
        other = await delegate_key(http, owner, "front_door")

    print(f"hub on postgresql, started on an empty data directory: same delegate key {again == made}")
    assert written == []  # no key file in the data directory
    assert again == made
    assert other != made  # one key per device
