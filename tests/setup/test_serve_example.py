"""A fresh clone's first hour: ``carhome serve --config examples/carhome.yaml`` starts, prints
the one-time setup link, ``carhome setup`` makes the owner with it, and the hub, restarted,
prints no code again. Real processes on free loopback ports, stopped after each test.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from carhome.cli import exits
from setup.served import LINK, carhome, example_config, served

PASSWORD = "a long first password"


async def test_the_example_config_starts_prints_the_setup_link_and_carhome_setup_makes_the_owner(
    tmp_path: Path,
) -> None:
    config = example_config(tmp_path)
    state = tmp_path / "state"
    async with served(config, state) as hub:
        found = LINK.search(hub.printed)
        assert found is not None, hub.printed
        assert found.group(1) == hub.url
        code = found.group(2)
        async with httpx.AsyncClient(base_url=hub.url) as client:
            assert (await client.get("/api/setup")).json() == {"needs_owner": True}
            page = await client.get(f"/setup?code={code}")
            assert page.status_code == 200
            assert 'id="app"' in page.text  # the web app's first-run page is served there

        # a wrong code: a plain refusal, no traceback, nothing made
        status, out, err = await carhome(
            "setup", "--hub", hub.url, "--code", "WRONG-CODE-0000", "--member", "ana", "--name", "Ana",
            "--password-stdin", state=state, given=PASSWORD + "\n",
        )  # fmt: skip
        assert status == exits.REFUSED  # the exit of every refusal (README: exit codes)
        assert "setup code is wrong" in err
        assert "Traceback" not in err + out

        status, out, err = await carhome(
            "setup", "--hub", hub.url, "--code", code.lower(), "--member", "ana", "--name", "Ana",
            "--password-stdin", state=state, given=PASSWORD + "\n",
        )  # fmt: skip
        assert status == 0, err
        assert f"owner ana made, and logged in to {hub.url}" in out
        assert "home yizhuang: Yizhuang flat at 39.7953, 116.506" in out
        assert "from the configuration file" in out
        assert "/ocpp/garage-1" in out  # the example's wallbox, at the hub's real OCPP port

        # the CLI is logged in as the owner it made
        status, out, err = await carhome("devices", "--hub", hub.url, state=state)
        assert status == 0, err
        assert "front-door" in out

        # the code is spent: setup is done
        status, out, err = await carhome(
            "setup", "--hub", hub.url, "--code", code, "--member", "eve", "--password-stdin",
            state=state, given=PASSWORD + "\n",
        )  # fmt: skip
        assert status == exits.HUB  # the hub answers that setup is done
        assert "has its owner already" in err
        assert "Traceback" not in err
    assert code in hub.logged  # the link is in the log too
    assert hub.process.returncode == 0

    # restarted with its owner: no code is made, none printed or logged
    async with served(config, state) as again, httpx.AsyncClient(base_url=again.url) as client:
        assert (await client.get("/api/setup")).json() == {"needs_owner": False}
    assert "setup?code=" not in again.printed + again.logged
    assert "setup code" not in again.printed + again.logged


async def test_carhome_setup_asks_for_a_home_the_config_file_does_not_hold(tmp_path: Path) -> None:
    # the smallest configuration: no home at all, only free ports
    config = example_config(tmp_path)
    text = config.read_text()
    head = text.split("\nhomes:")[0]
    config.write_text(head + "\nocpp:\n  host: 127.0.0.1\n  port: 0\n")
    state = tmp_path / "state"
    async with served(config, state) as hub:
        found = LINK.search(hub.printed)
        assert found is not None, hub.printed
        answers = "\n".join([PASSWORD, "Our cottage", "52.52", "13.405", "Europe/Berlin"]) + "\n"
        status, out, err = await carhome(
            "setup", "--hub", hub.url, "--code", found.group(2), "--member", "ana", "--name", "Ana",
            "--home", "cottage", "--price", "0.31", "--password-stdin", state=state, given=answers,
        )  # fmt: skip
        assert status == 0, err
        assert (
            "home cottage: Our cottage at 52.52, 13.405, time zone Europe/Berlin, tariff fixed 0.31 per kWh"
            in out
        )
        status, out, err = await carhome("setup", "--hub", hub.url, state=state)
        assert (status, "has its owner already" in err) == (1, True)
    # kept for the next start: the home in the hub's store, its price beside it
    async with served(config, state) as again:
        assert "1 home(s)" in again.printed
