"""Chargers are who they say: unknown ids, wrong passwords, guessing and hijacks.

An unknown id gets the very answer a wrong password gets; guesses are paced per address
and per charger id, and the real charger, on its own address, gets in all the same.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, WallboxRefused

WallboxFactory = Callable[..., SimulatedWallbox]
REAL_CHARGER = "127.0.0.2"  # the charger's own address; the strangers come from others


async def _gets_in(box: SimulatedWallbox) -> bool:
    """Whether the charger connects and boots (it disconnects again)."""
    try:
        async with box:
            return await box.boot() == "Accepted"
    except WallboxRefused:
        return False


async def _refusal(box: SimulatedWallbox) -> WallboxRefused:
    with pytest.raises(WallboxRefused) as refused:
        await box.connect()
    return refused.value


async def test_an_unknown_id_gets_the_answer_a_wrong_password_gets(
    server: OcppServer, make_wallbox: WallboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    unknown = await _refusal(make_wallbox("CP-EVIL", password="s3cret-wallbox-guess"))
    wrong = await _refusal(make_wallbox(password="s3cret-wallbox-guess"))
    assert unknown.status == wrong.status == 401
    assert (unknown.headers, unknown.body) == (wrong.headers, wrong.body)
    assert unknown.headers["www-authenticate"] == 'Basic realm="carhome"'
    assert (server.stats.refused_unknown, server.stats.refused_auth) == (1, 1)
    assert "unknown charger id 'CP-EVIL'" in caplog.text  # only the hub's own log tells them apart


@pytest.mark.parametrize("password", [None, "wrong", ""])
async def test_wrong_or_missing_password_is_refused(
    server: OcppServer, make_wallbox: WallboxFactory, password: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    refused = await _refusal(make_wallbox(password=password))
    assert refused.status == 401
    assert server.stats.refused_auth == 1
    assert not server.connected("CP-1")
    assert "s3cret" not in caplog.text


async def test_guessing_from_one_address_is_paced_and_the_real_charger_gets_in(
    server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock
) -> None:
    tries = 100
    answers = [
        (await _refusal(make_wallbox(cid, password=f"guess-{i:04d}-guess-guess", source="127.0.0.3"))).status
        for i, cid in enumerate(["CP-1", "CP-2"] * (tries // 2))
    ]
    evaluated = answers.count(401)
    # a few guesses are looked at, then none: known and unknown ids alike
    assert evaluated == 5
    assert answers[5:] == [429] * (tries - 5)
    throttled = await _refusal(make_wallbox(password="guess-again-guess-guess", source="127.0.0.3"))
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    # the charger itself, on its own address, is never locked out
    assert await _gets_in(make_wallbox(source=REAL_CHARGER))
    await server.wait_connected("CP-1", connected=False)
    # a minute later the stranger may guess once more
    await clock.advance(60)
    again = [
        (await _refusal(make_wallbox(password=f"later-{i}-guess-guess-guess", source="127.0.0.3"))).status
        for i in range(3)
    ]
    assert again == [401, 429, 429]
    print(f"OCPP guesses evaluated from one address: {evaluated} of {tries} at once, then 1 a minute")


async def test_an_id_guessed_from_many_addresses_slows_them_not_the_charger(
    server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    addresses = [f"127.0.1.{n}" for n in range(1, 31)]
    answers = []
    for round_ in range(3):
        for address in addresses:
            box = make_wallbox(password=f"round-{round_}-guess-guess", source=address)
            answers.append((await _refusal(box)).status)
    evaluated = answers.count(401)
    # every address is heard once; past the id's allowance, one that failed waits
    assert evaluated <= 20 + len(addresses)
    assert answers[-len(addresses) :] == [429] * len(addresses)
    lockouts = 0
    for _ in range(3):
        lockouts += not await _gets_in(make_wallbox(source=REAL_CHARGER))
        await server.wait_connected("CP-1", connected=False)
    assert lockouts == 0
    print(
        f"OCPP guesses at one id from {len(addresses)} addresses: {evaluated} of {len(answers)} evaluated;"
        f" real charger lock-outs: {lockouts}"
    )


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
