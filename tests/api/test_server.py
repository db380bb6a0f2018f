"""Serving the API on a real loopback socket, and announcing it for the CLI."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from carhome.api import ApiServer, address_file, create_app, read_hub_address
from carhome.errors import ConfigError
from carhome.http.principals import is_loopback
from carhome.hub import Hub


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path


async def test_serves_on_a_free_loopback_port_and_announces_itself(hub: Hub, state_home: Path) -> None:
    async with ApiServer(create_app(hub), port=0, announce=True) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert read_hub_address() == server.url
        assert address_file() == state_home / "carhome" / "hub.json"
        async with httpx.AsyncClient(base_url=server.url) as client:
            r = await client.get("/api/health")
        assert r.json()["status"] == "ok"
    assert read_hub_address() is None
    assert not address_file().exists()


async def test_a_taken_port_is_a_clear_error(hub: Hub) -> None:
    async with ApiServer(create_app(hub), port=0) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with ApiServer(create_app(hub), port=port):
                pass


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "hub.lan", "::"])
def test_refuses_to_listen_beyond_loopback_without_auth(hub: Hub, host: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        ApiServer(create_app(hub), host=host)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected
