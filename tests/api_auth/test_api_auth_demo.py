"""The demo hub process with access control on: its owner logs in; commands are decided.

Runs ``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite,
simulated home) on free loopback ports, as ``carhome demo`` does.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest

from carhome.access.service import Access
from carhome.cli.client import ApiError, HubClient
from carhome.cli.session import Sessions
from carhome.compose.demo import DEMO_OWNER, demo_owner_password
from carhome.testing import FakeClock
from carhome.wire.discovery import read_hub_address
from hub_process import demo_hub


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


async def test_the_demo_makes_an_owner_who_logs_in_and_commands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "demo"
    password = demo_owner_password(data)
    assert demo_owner_password(data) == password  # kept for the next start
    assert ((data / "owner-password").stat().st_mode & 0o777) == 0o600
    async with demo_hub(data) as running:
        assert read_hub_address() == running.api_url
        async with HubClient(running.api_url, sessions=Sessions(tmp_path / "s.json")) as client:
            with pytest.raises(ApiError) as refused:
                await client.devices()
            assert refused.value.status == 401
            await client.login(DEMO_OWNER, password)
            saved = client.saved()
            assert saved is not None
            devices = await client.devices()
            assert {"car", "garage_door", "front_door", "living_room_purifier"} <= {d.id for d in devices}
            done = await client.submit(
                "yizhuang", "living_room_purifier", kind="action", target="turn_on", args={}, wait=20
            )
            assert (done.status, done.member, done.face) == ("acked", DEMO_OWNER, "api")
            with pytest.raises(ApiError) as unsigned:
                await client.submit("yizhuang", "front_door", kind="action", target="unlock", args={})
            assert unsigned.value.status == 403
            assert "signature" in unsigned.value.detail
        async with httpx.AsyncClient(base_url=running.api_url) as raw:
            r = await raw.post("/api/auth/login", json={"member": DEMO_OWNER, "password": "not it at all"})
            assert r.status_code == 401
    # The owner and the audit chain survive the process.
    async with Access.open(data, FakeClock()) as again:
        assert again.members.require(DEMO_OWNER).role == "owner"
        assert (await again.audit.verify()).ok
        assert len(await again.audit.entries()) >= 2
    # No secret in the logs or the databases: the password, the tokens, the token key.
    key = (data / "token.key").read_bytes()
    secrets = {
        "password": password.encode(),
        "access token": saved.access.encode(),
        "refresh token": saved.refresh.encode(),
        "refresh secret": saved.refresh.split(".", 1)[1].encode(),
        "token key": key,
        "token key (hex)": key.hex().encode(),
        "token key (base64)": base64.urlsafe_b64encode(key).rstrip(b"=")[:32],
    }
    kept_secret = {"owner-password", "token.key"}  # where they are meant to be, mode 0600
    haystacks = {"log": caplog.text.encode()} | {
        f.name: f.read_bytes() for f in data.iterdir() if f.is_file() and f.name not in kept_secret
    }
    found = [
        (what, where) for what, secret in secrets.items() for where, hay in haystacks.items() if secret in hay
    ]
    print(
        f"\nsecrets in logs and databases: {len(found)} found"
        f" ({len(secrets)} secrets, {len(haystacks)} files and logs)"
    )
    assert found == []
