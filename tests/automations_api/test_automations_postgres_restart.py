"""A hub whose store is on PostgreSQL keeps what the API saved of its automations there:
started again on the same database with an EMPTY new data directory, it still has the
automation saved through the API (its text byte for byte) and every enable switch, and the
saved automation runs.

Runs ``carhome.compose.runtime.run`` over the demo configuration with ``hub.store:
postgresql://…`` (a schema of the test's own) on free loopback ports; the automation's run
is seen as its command on the hub's WebSocket.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from carhome.compose.demo import DEMO_AUTOMATIONS, DEMO_OWNER
from hub_process import HOME, demo_hub, on_postgres, owner_login
from members_rig import bearer

# The light follows the purifier; the comment and the layout are part of what is kept.
FOLLOW = f"""home: {HOME}
automations:
  # the living room light comes on low when the purifier starts
  - id: follow_purifier
    alias: Light follows the purifier
    member: {DEMO_OWNER}
    triggers: [{{trigger: state, device: living_room_purifier, property: "on", to: true}}]
    actions:
      - {{action: set, device: living_room_light, property: brightness, value: 7}}
"""
SPARE = FOLLOW.replace("follow_purifier", "spare_light").replace("value: 7", "value: 3")
BOUND_S = 20.0


async def command(http: httpx.AsyncClient, auth: dict[str, str], device: str, target: str) -> None:
    r = await http.post(
        f"/api/devices/{HOME}/{device}/commands",
        json={"kind": "action", "target": target, "wait": 10},
        headers=auth,
    )
    assert r.status_code == 200, r.text


async def light_commands_when_purifier_starts(
    api_url: str, http: httpx.AsyncClient, tokens: dict[str, Any]
) -> list[int]:
    """The brightness values the hub's automations set on the living room light when the
    purifier is started: each seen acknowledged on the WebSocket."""
    auth = bearer(tokens)
    await command(http, auth, "living_room_purifier", "turn_off")
    set_to: list[int] = []
    async with websockets.connect(api_url.replace("http", "ws", 1) + "/api/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"type": "subscribe", "device": "living_room_light"}))
        await command(http, auth, "living_room_purifier", "turn_on")
        async with asyncio.timeout(BOUND_S):
            while not set_to:
                frame = json.loads(await ws.recv())
                if frame["type"] != "command":
                    continue
                sent = frame["command"]
                if (sent["device"], sent["target"], sent["status"]) == (
                    "living_room_light",
                    "brightness",
                    "acked",
                ):
                    set_to.append(sent["args"]["value"])
    return set_to


@pytest.mark.postgres
async def test_saved_automations_and_switches_outlive_the_data_directory(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, empty = tmp_path / "first", tmp_path / "empty"
    async with (
        demo_hub(first, on_postgres(first, postgres_url), automation_files=[DEMO_AUTOMATIONS]) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=BOUND_S) as http,
    ):
        owner = bearer(await owner_login(http, first))
        for text in (FOLLOW, SPARE):
            r = await http.post("/api/automations", json={"text": text}, headers=owner)
            assert r.status_code == 201, r.text
            assert r.json()["file"] == f"postgresql:automations/{r.json()['id']}"
        for off in ("spare_light", "locked_at_night"):  # one saved, one of the demo's file
            r = await http.post(f"/api/automations/{off}/disable", headers=owner)
            assert r.status_code == 200, r.text
    written = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if "automations" in p.parts)

    empty.mkdir()
    async with (
        demo_hub(empty, on_postgres(empty, postgres_url), automation_files=[DEMO_AUTOMATIONS]) as running,
        httpx.AsyncClient(base_url=running.api_url, timeout=BOUND_S) as http,
    ):
        tokens = await owner_login(http, first)  # the owner, too, is in the database
        owner = bearer(tokens)
        listed = {a["id"]: a for a in (await http.get("/api/automations", headers=owner)).json()}
        follow = (await http.get("/api/automations/follow_purifier", headers=owner)).json()
        set_to = await light_commands_when_purifier_starts(running.api_url, http, tokens)

    kept = sum(1 for i in ("follow_purifier", "spare_light") if i in listed)
    off = sum(
        1 for i in ("spare_light", "locked_at_night") if not listed.get(i, {"enabled": True})["enabled"]
    )
    print(
        f"hub on postgresql, started on an empty data directory: {kept} of 2 saved automation(s),"
        f" {off} of 2 switch(es) still off, brightness set by the saved automation: {set_to}"
    )
    assert written == []  # nothing of what the API saved went into the data directory
    assert (follow["text"], follow["origin"], follow["file"], follow["line"]) == (
        FOLLOW,
        "saved",
        "postgresql:automations/follow_purifier",
        4,
    )
    assert {
        i: a["enabled"]
        for i, a in listed.items()
        if i in ("follow_purifier", "spare_light", "locked_at_night")
    } == {
        "follow_purifier": True,
        "spare_light": False,
        "locked_at_night": False,
    }
    assert set_to == [7]  # the saved automation ran; the disabled one did not
