"""``POST /api/say`` against a real demo hub: commands carried out as the member and
followed to their acknowledgement, questions answered from live state, candidates when
the words fit several devices, refusals (a guest, an unsigned safety-critical command)
with nothing executed, and bad bodies as problems naming the field."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from say_rig import DemoHub

from carhome.spec import vss

pytestmark = pytest.mark.asyncio(loop_scope="module")

GUEST = "say_guest"
GUEST_PASSWORD = "say-guest-Pa55word-long"


async def say(client: httpx.AsyncClient, text: str, **more: Any) -> dict[str, Any]:
    r = await client.post("/api/say", json={"text": text, **more})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def value(client: httpx.AsyncClient, device: str, prop: str) -> Any:
    r = await client.get(f"/api/devices/yizhuang/{device}")
    r.raise_for_status()
    state = r.json()["state"].get(prop)
    return None if state is None else state["value"]


async def command_ids(client: httpx.AsyncClient) -> set[str]:
    r = await client.get("/api/commands", params={"limit": "200"})
    r.raise_for_status()
    return {c["id"] for c in r.json()["commands"]}


async def test_say_a_command_is_carried_out_and_followed_to_its_ack(demo: DemoHub) -> None:
    async with demo.client() as client:
        await say(client, "turn off the living room air purifier", wait=20)
        assert await value(client, "living_room_purifier", "on") is False
        done = await say(client, "turn on the living room air purifier", wait=20)
        assert (done["status"], done["command_status"], done["language"]) == ("done", "acked", "en")
        assert done["answer"] == "Done: turn on the Living room purifier."
        assert [d["id"] for d in done["devices"]] == ["living_room_purifier"]
        assert await value(client, "living_room_purifier", "on") is True
        r = await client.get(f"/api/commands/{done['commands'][0]}")
        assert (r.json()["member"], r.json()["face"], r.json()["target"]) == ("owner", "api", "turn_on")


async def test_say_chinese_commands_and_a_set_point(demo: DemoHub) -> None:
    async with demo.client() as client:
        light = await say(client, "打开客厅的灯", wait=20)
        assert (light["status"], light["command_status"], light["language"]) == ("done", "acked", "zh")
        assert light["answer"] == "好的，已打开客厅灯。"
        assert await value(client, "living_room_light", "on") is True
        ac = await say(client, "把客厅空调调到24度", wait=20)
        assert ac["command_status"] == "acked", ac
        assert ac["answer"] == "好的，已把客厅空调的设定温度设为24°C。"
        assert await value(client, "living_room_ac", "target_temperature") == 24
        cabin = await say(client, "把空调调到24度", wait=20, here="car")  # asked in the car: its climate
        assert (cabin["command_status"], [d["id"] for d in cabin["devices"]]) == ("acked", ["car"]), cabin
        assert await value(client, "car", vss.HVAC_SET_POINT) == 24
        limit = await say(client, "set the charge target to 80%", wait=20)
        assert limit["command_status"] == "acked", limit
        assert await value(client, "car", vss.CHARGE_LIMIT) == 80


async def test_say_without_waiting_answers_once_the_command_is_sent(demo: DemoHub) -> None:
    async with demo.client() as client:
        sent = await say(client, "turn off the light")
        assert sent["status"] == "done"
        assert sent["command_status"] in ("queued", "sent", "acked")
        r = await client.get(f"/api/commands/{sent['commands'][0]}", params={"wait": "20"})
        assert r.json()["status"] == "acked"


async def test_say_questions_are_answered_from_live_state_with_units(demo: DemoHub) -> None:
    async with demo.client() as client:
        soc = await value(client, "car", vss.SOC)
        charge = await say(client, "how much charge is left?")
        assert charge["status"] == "question"
        shown = re.fullmatch(r"The Car's charge is (\d+(?:\.\d)?) %\.", charge["answer"])
        assert shown is not None, charge["answer"]
        assert abs(float(shown.group(1)) - soc) <= 0.5  # the simulated car drifts in between
        zh = await say(client, "车还有多少电")
        assert re.fullmatch(r"车的电量是\d+(\.\d)?%。", zh["answer"]), zh["answer"]
        cabin = await say(client, "what's the cabin temperature")
        assert re.fullmatch(r"The Car's cabin temperature is -?\d+(\.\d)? °C\.", cabin["answer"]), cabin
        garage = await say(client, "is the garage open?")
        state = await value(client, "garage_door", "state")
        expected = "Yes" if state == "open" else "No"
        assert garage["answer"].startswith(f"{expected}, the Garage door is "), (garage, state)
        assert garage["commands"] == []


async def test_say_several_fitting_devices_list_candidates_and_nothing_runs(demo: DemoHub) -> None:
    async with demo.client() as client:
        before = await command_ids(client)
        for text in ("turn on the air conditioner", "把空调调到24度"):
            asked = await say(client, text)
            assert asked["status"] == "ambiguous"
            assert {c["id"] for c in asked["candidates"]} == {"living_room_ac", "bedroom_ac", "car"}
            assert asked["commands"] == []
        assert "Living room air conditioner" in (await say(client, "turn on the ac"))["answer"]
        assert "客厅空调" in asked["answer"]
        assert "卧室空调" in asked["answer"]
        assert await command_ids(client) == before


async def test_say_an_unsigned_safety_critical_command_is_refused(demo: DemoHub) -> None:
    async with demo.client() as client:
        locked = await value(client, "car", vss.DOOR_LOCKED[0])
        for text in ("lock the car", "close the garage", "锁车"):
            refused = await say(client, text, wait=5)
            assert refused["status"] == "refused", refused
            assert refused["reason"].startswith("unsigned"), refused
            assert refused["commands"] == []
        unlocking = await say(client, "unlock the car")
        assert "needs your own signature" in unlocking["answer"]
        assert unlocking["sign"] == {
            "home": unlocking["devices"][0]["home"],
            "device": "car",
            "kind": "action",
            "target": "unlock",
            "args": {},
        }
        assert await value(client, "car", vss.DOOR_LOCKED[0]) == locked
        r = await client.get("/api/audit", params={"limit": "20"})
        denied = [e for e in r.json()["entries"] if e["target"] == "lock" and e["decision"] != "allowed"]
        assert denied, "the refusal is on record"


async def test_say_a_guest_is_refused_what_the_grant_does_not_cover(demo: DemoHub) -> None:
    async with demo.client() as client:
        r = await client.post(
            "/api/members", json={"id": GUEST, "name": "Guest", "role": "guest", "password": GUEST_PASSWORD}
        )
        assert r.status_code == 201, r.text
        now = time.time()
        r = await client.post(
            f"/api/members/{GUEST}/grants",
            json={
                "devices": ["living_room_light"],
                "targets": ["turn_on", "turn_off"],
                "starts": now - 60,
                "ends": now + 3600,
            },
        )
        assert r.status_code == 201, r.text
        r = await client.post("/api/auth/login", json={"member": GUEST, "password": GUEST_PASSWORD})
        guest = r.json()
    async with demo.client(guest) as client:
        refused = await say(client, "turn off the living room air purifier")
        assert refused["status"] == "refused"
        assert "no live grant" in refused["reason"]
        assert refused["answer"].startswith("Not done: you may not turn off the Living room purifier")
        zh = await say(client, "关闭客厅的空气净化器")
        assert zh["status"] == "refused"
        assert zh["answer"].startswith("未执行：你无权")
        allowed = await say(client, "turn on the light", wait=20)
        assert (allowed["status"], allowed["command_status"]) == ("done", "acked")
    async with demo.client() as client:
        assert await value(client, "living_room_purifier", "on") is True


async def test_say_what_is_not_understood_gets_an_example(demo: DemoHub) -> None:
    async with demo.client() as client:
        lost = await say(client, "make me a sandwich")
        assert (lost["status"], lost["understood"]) == ("not_understood", False)
        assert "“make me a sandwich”" in lost["answer"]
        assert "Try for example" in lost["answer"]
        zh = await say(client, "给我讲个笑话")
        assert zh["answer"].startswith("抱歉，没听懂“给我讲个笑话”")
        range_ = await say(client, "set the living room air conditioner to 40 degrees")
        assert "takes float from 16 to 30 celsius" in range_["answer"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"txt": "turn on the light"}, "$.txt"),
        ({}, "$.text"),
        ({"text": ""}, "$.text"),
        ({"text": "x" * 501}, "$.text"),
        ({"text": 7}, "$.text"),
        ({"text": "turn on the light", "language": "fr"}, "$.language"),
        ({"text": "turn on the light", "wait": -1}, "$.wait"),
        ({"text": "turn on the light", "wait": 61}, "$.wait"),
    ],
)
async def test_say_a_bad_body_is_a_problem_naming_the_field(demo: DemoHub, body: Any, field: str) -> None:
    async with demo.client() as client:
        r = await client.post("/api/say", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field, r.json()


async def test_say_needs_a_login_and_a_home_the_member_is_in(demo: DemoHub) -> None:
    async with httpx.AsyncClient(base_url=demo.url) as anonymous:
        r = await anonymous.post("/api/say", json={"text": "turn on the light"})
        assert r.status_code == 401
    async with demo.client() as client:
        r = await client.post("/api/say", json={"text": "turn on the light", "home": "elsewhere"})
        assert (r.status_code, r.json()["home"]) == (404, "elsewhere")
        r = await client.post("/api/say", content=b"{not json")
        assert r.status_code == 422
