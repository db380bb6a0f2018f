"""Chargers are who they say: unknown ids, wrong passwords and hijacks are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.testing.wallbox import SimulatedWallbox, WallboxRefused

WallboxFactory = Callable[..., SimulatedWallbox]


async def test_unknown_charger_is_refused(
    server: OcppServer, make_wallbox: WallboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WallboxRefused) as refused:
        await make_wallbox("CP-EVIL").connect()
    assert refused.value.status == 404
    assert server.stats.refused_unknown == 1
    assert "unknown charger id 'CP-EVIL'" in caplog.text


@pytest.mark.parametrize("password", [None, "wrong", ""])
async def test_wrong_or_missing_password_is_refused(
    server: OcppServer, make_wallbox: WallboxFactory, password: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WallboxRefused) as refused:
        await make_wallbox(password=password).connect()
    assert refused.value.status == 401
    assert server.stats.refused_auth == 1
    assert not server.connected("CP-1")
    assert "s3cret" not in caplog.text


async def test_second_connection_for_a_connected_id_is_refused(
    server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    async with make_wallbox() as first:
        await first.boot()
        with pytest.raises(WallboxRefused) as refused:
            await make_wallbox().connect()
        assert refused.value.status == 409
        assert server.stats.refused_duplicate == 1
        # the first keeps its session
        assert server.connected("CP-1")
        assert await first.boot() == "Accepted"
        await first.status("Available")
