"""The demo hub process, stopped and started again: what the API and ``carhome automations``
changed is still there, and the demo's scenes apply on its simulated devices.

Runs ``carhome.compose.runtime.run`` over the demo configuration (built-in broker, SQLite, the
simulated Yizhuang home) on free loopback ports, twice over one data directory. The CLI
runs in a worker thread (click runs its own event loop) against the hub in this one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from carhome.cli import cli
from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_OWNER, demo_owner_password
from hub_process import demo_hub, owner_login
from members_rig import bearer

NIGHT = """home: yizhuang
automations:
  - id: night_light
    alias: Night light when the car is home
    member: owner
    triggers: [{trigger: place, device: car, event: enter, place: home}]
    actions:
      - {action: set, device: living_room_light, property: brightness, value: 10}
"""


async def carhome(state: Path, url: str, *args: str, stdin: str | None = None) -> Result:
    runner = CliRunner()
    env: dict[str, str | None] = {"CARHOME_HUB": None, "XDG_STATE_HOME": str(state)}
    return await asyncio.to_thread(runner.invoke, cli, [*args, "--hub", url], input=stdin, env=env)


async def test_changes_survive_a_restart_and_demo_scenes_apply(tmp_path: Path) -> None:
    data, state = tmp_path / "demo", tmp_path / "state"
    night = tmp_path / "night_light.yaml"
    night.write_text(NIGHT)
    password = demo_owner_password(data)
    async with demo_hub(data, automation_files=[DEMO_AUTOMATIONS]) as running:
        url = running.api_url
        logged = await carhome(state, url, "login", DEMO_OWNER, "--password-stdin", stdin=password + "\n")
        assert logged.exit_code == 0, logged.output
        made = await carhome(state, url, "automations", "apply", str(night))
        assert made.exit_code == 0, made.output
        assert "created night_light (enabled), kept in automations/saved/night_light.yaml" in made.output
        again = await carhome(state, url, "automations", "apply", str(night))
        assert "replaced night_light" in again.output
        off = await carhome(state, url, "automations", "disable", "locked_at_night")
        assert off.exit_code == 0, off.output
        assert "locked_at_night: disabled" in off.output
        bad = tmp_path / "bad.yaml"
        bad.write_text(NIGHT.replace("device: living_room_light", "device: attic_light"))
        refused = await carhome(state, url, "automations", "apply", str(bad))
        assert refused.exit_code == 1
        assert f"{bad}:8: actions[0].device: " in refused.output
        assert "attic_light" in refused.output

        async with httpx.AsyncClient(base_url=url) as http:
            owner = bearer(await owner_login(http, data))
            scenes = (await http.get("/api/scenes", headers=owner)).json()
            assert {s["id"] for s in scenes} == {"arrive", "leave", "sleep"}
            assert all(s["error"] is None and s["steps"] for s in scenes)
            r = await http.post("/api/scenes/sleep/apply", headers=owner)
            assert r.status_code == 200, r.text
            applied = r.json()
            assert applied["refused"] == []
            for command in applied["commands"]:  # the simulated devices carry each one out
                done = await http.get(f"/api/commands/{command['id']}?wait=20", headers=owner)
                assert (done.json()["status"], done.json()["member"]) == ("acked", DEMO_OWNER)
            listed = (await http.get("/api/automations", headers=owner)).json()
            files = {a["file"] for a in listed}
            assert files == {
                "package:carhome/sim/demo_automations.yaml",
                "automations/saved/night_light.yaml",
            }
            assert str(tmp_path) not in str(listed)

    # on another port: log in there
    async with demo_hub(data, automation_files=[DEMO_AUTOMATIONS]) as running:
        await carhome(state, running.api_url, "login", DEMO_OWNER, "--password-stdin", stdin=password + "\n")
        listing = await carhome(state, running.api_url, "automations", "list")
        assert listing.exit_code == 0, listing.output
        assert "automations/saved/night_light.yaml:3" in listing.output
        async with httpx.AsyncClient(base_url=running.api_url) as http:
            owner = bearer(await owner_login(http, data))
            listed = {a["id"]: a for a in (await http.get("/api/automations", headers=owner)).json()}
            assert listed["locked_at_night"]["enabled"] is False
            assert listed["night_light"]["enabled"] is True
            got = (await http.get("/api/automations/night_light", headers=owner)).json()
            assert got["text"] == NIGHT
        on = await carhome(state, running.api_url, "automations", "enable", "locked_at_night")
        assert "locked_at_night: enabled" in on.output


@pytest.fixture(autouse=True)
def no_hub_announcement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hubs announce themselves under the test's own state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
