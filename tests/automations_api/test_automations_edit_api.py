"""Creating, editing, switching and deleting automations over the API; scenes listed and
applied as the calling member.

A real hub (memory store, fake clock) with the access parts of a hub process
(``Access.open`` over a temporary directory), the engine, ``AutomationFiles`` over a
temporary data directory, and the app the hub serves, called in-process over ASGI. A
"restart" is a new engine and a new ``AutomationFiles`` over the same data directory.
Each test runs with the saved automations kept as files, and in PostgreSQL (``rig``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_rig import BASE, NEW, Rig, restart

from carhome.access.members import Grant


def _no_absolute_paths(value: Any, where: Path) -> None:
    assert str(where) not in str(value)
    assert "/tmp" not in str(value)


async def test_create_then_read_it_back_and_it_runs(rig: Rig) -> None:
    owner = await rig.login("olivia")
    r = await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["id"], made["file"], made["origin"], made["enabled"]) == (
        "night_light",
        rig.saved_name("night_light"),
        "saved",
        True,
    )
    assert r.headers["location"] == "/api/automations/night_light"
    assert await rig.kept() == {"night_light": NEW}
    got = (await rig.http.get("/api/automations/night_light", headers=owner)).json()
    assert got["text"] == NEW
    assert got["line"] == 3
    # swapped into the running engine: the car coming home sets the hall's brightness
    rig.hub.report("h1", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    await rig.devices.until(lambda got: len(got) >= 2)
    assert [(c.device, c.target, c.args) for c in rig.devices.received] == [
        ("hall", "turn_on", {}),
        ("hall", "brightness", {"value": 10}),
    ]
    again = await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)
    assert again.status_code == 409
    assert again.json()["automation"] == "night_light"
    assert "already exists" in again.json()["detail"]


async def test_an_invalid_automation_is_refused_with_its_lines_and_nothing_saved(rig: Rig) -> None:
    owner = await rig.login("olivia")
    bad = NEW.replace("device: hall, property: brightness", "device: attic, property: brightness").replace(
        "enter, place: home", "enter, place: home, extra: 1"
    )
    r = await rig.http.post("/api/automations", json={"text": bad}, headers=owner)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:carhome:problem:invalid-automation"
    [error] = problem["errors"]
    assert error["line"] == 6
    assert error["path"] == "triggers[0].extra"
    assert error["message"] == "unknown key 'extra'; allowed here: trigger, device, event, place"
    fixed_trigger = bad.replace(", extra: 1", "")
    r = await rig.http.post("/api/automations", json={"text": fixed_trigger}, headers=owner)
    [error] = r.json()["errors"]
    assert (error["line"], error["path"]) == (8, "actions[0].device")
    assert "attic" in error["message"]
    r = await rig.http.post("/api/automations", json={"text": "automations: [\n"}, headers=owner)
    assert r.status_code == 422
    assert r.json()["errors"][0]["line"] is not None
    assert not (rig.data / "automations" / "saved").exists()
    assert await rig.kept() == {}
    assert "night_light" not in {a.id for a in rig.engine.automations()}


async def test_edit_a_read_only_automation_saves_an_override_that_wins_after_a_restart(rig: Rig) -> None:
    owner = await rig.login("olivia")
    got = (await rig.http.get("/api/automations/porch", headers=owner)).json()
    assert (got["origin"], got["file"], got["overrides"]) == ("external", "external:base.yaml", None)
    text = got["text"]
    assert text.startswith("home: h1\nautomations:\n  - id: porch\n")
    assert "# the hall first" in text  # cut out of its file as written
    edited = text.replace("name: turn_on", "name: turn_off")
    r = await rig.http.put("/api/automations/porch", json={"text": edited}, headers=owner)
    assert r.status_code == 200, r.text
    assert (r.json()["origin"], r.json()["overrides"]) == ("saved", "external:base.yaml")
    assert rig.base.read_text() == BASE  # the read-only file is never touched
    renamed = edited.replace("id: porch", "id: porch2")
    r = await rig.http.put("/api/automations/porch", json={"text": renamed}, headers=owner)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "id"
    assert r.json()["errors"][0]["line"] == 3
    assert (
        await rig.http.put("/api/automations/nope", json={"text": edited}, headers=owner)
    ).status_code == 404

    # The scene action's file scenes travel with the automation that applies them.
    purify = (await rig.http.get("/api/automations/purify", headers=owner)).json()["text"]
    assert "scenes:" in purify
    assert (
        await rig.http.put("/api/automations/purify", json={"text": purify}, headers=owner)
    ).status_code == 200

    await restart(rig)
    got = (await rig.http.get("/api/automations/porch", headers=owner)).json()
    assert got["text"] == edited
    assert got["file"] == rig.saved_name("porch")
    # Deleting the override brings back the automation of the read-only file.
    r = await rig.http.delete("/api/automations/porch", headers=owner)
    assert r.status_code == 200
    assert r.json()["deleted"] == "porch"
    assert r.json()["restored"]["origin"] == "external"
    assert "name: turn_on" in r.json()["restored"]["text"]
    r = await rig.http.delete("/api/automations/porch", headers=owner)
    assert r.status_code == 409
    assert r.json()["type"] == "urn:carhome:problem:read-only-automation"


async def test_enable_and_disable_survive_a_restart(rig: Rig) -> None:
    owner = await rig.login("olivia")
    r = await rig.http.post("/api/automations/porch/disable", headers=owner)
    assert (r.status_code, r.json()["enabled"]) == (200, False)
    rig.hub.report("h1", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    # disabled: its trigger does not fire (no run, so no command can be on its way either)
    assert (await rig.http.get("/api/automations/porch", headers=owner)).json()["firings"] == 0
    assert rig.devices.received == []
    await restart(rig)
    listed = {a["id"]: a for a in (await rig.http.get("/api/automations", headers=owner)).json()}
    assert listed["porch"]["enabled"] is False
    assert listed["purify"]["enabled"] is True
    r = await rig.http.post("/api/automations/porch/enable", headers=owner)
    assert r.json()["enabled"] is True
    await restart(rig)
    got = (await rig.http.get("/api/automations/porch", headers=owner)).json()
    assert got["enabled"] is True
    rig.hub.report("h1", "car", {"place": "away"}, trusted=True)
    rig.hub.report("h1", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    await rig.devices.until(lambda got: ("hall", "turn_on") in [(c.device, c.target) for c in got])


async def test_delete_an_api_created_automation(rig: Rig) -> None:
    owner = await rig.login("olivia")
    assert (await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)).status_code == 201
    assert (await rig.http.post("/api/automations/night_light/disable", headers=owner)).status_code == 200
    assert (await rig.kept()).keys() == {"night_light"}
    assert await rig.switches() == {"night_light": False}
    r = await rig.http.delete("/api/automations/night_light", headers=owner)
    assert (r.status_code, r.json()) == (200, {"deleted": "night_light", "restored": None})
    assert await rig.kept() == {}
    assert await rig.switches() == {}
    assert (await rig.http.get("/api/automations/night_light", headers=owner)).status_code == 404
    await restart(rig)
    assert "night_light" not in {a.id for a in rig.engine.automations()}


async def test_only_owners_change_automations_and_every_change_is_audited(rig: Rig) -> None:
    for member in ("gina", "fred"):
        other = await rig.login(member)
        assert (await rig.http.get("/api/automations", headers=other)).status_code == 200
        for method, path, body in (
            ("POST", "/api/automations", {"text": NEW}),
            ("PUT", "/api/automations/porch", {"text": BASE}),
            ("POST", "/api/automations/porch/disable", None),
            ("DELETE", "/api/automations/porch", None),
        ):
            r = await rig.http.request(method, path, json=body, headers=other)
            assert r.status_code == 403, (member, method, path)
            assert "may not change automations" in r.json()["detail"]
    assert {a.id: a.enabled for a in rig.engine.automations()} == {"porch": True, "purify": True}
    owner = await rig.login("olivia")
    assert (await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)).status_code == 201
    assert (await rig.http.post("/api/automations/porch/disable", headers=owner)).status_code == 200
    assert (await rig.http.delete("/api/automations/night_light", headers=owner)).status_code == 200
    entries = await rig.access.audit.entries()
    changes = [(e.member, e.device, e.target) for e in entries if e.device.startswith("automation:")]
    assert changes == [
        ("olivia", "automation:night_light", "created"),
        ("olivia", "automation:porch", "disabled"),
        ("olivia", "automation:night_light", "deleted"),
    ]
    decisions = [(e.member, e.decision) for e in entries if e.target == "manage_automations"]
    assert decisions.count(("gina", "denied")) == 4
    assert decisions.count(("fred", "denied")) == 4
    assert decisions.count(("olivia", "allowed")) == 3
    assert (await rig.access.audit.verify()).ok


async def test_homes_are_kept_apart(rig: Rig) -> None:
    nora = await rig.login("nora")
    assert (await rig.http.get("/api/automations", headers=nora)).json() == []
    assert (await rig.http.get("/api/automations/porch", headers=nora)).status_code == 404
    assert (await rig.http.post("/api/automations/porch/disable", headers=nora)).status_code == 404
    assert (await rig.http.get("/api/scenes", headers=nora)).json() == []
    r = await rig.http.post("/api/automations", json={"text": NEW}, headers=nora)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "home"


async def test_no_absolute_path_in_any_answer(rig: Rig) -> None:
    owner = await rig.login("olivia")
    await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)
    await rig.http.put(
        "/api/automations/porch",
        json={"text": (await rig.http.get("/api/automations/porch", headers=owner)).json()["text"]},
        headers=owner,
    )
    answers = [
        (await rig.http.get("/api/automations", headers=owner)).json(),
        *[(await rig.http.get(f"/api/automations/{i}", headers=owner)).json() for i in ("porch", "purify")],
        (await rig.http.get("/api/automations/night_light", headers=owner)).json(),
        (await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)).json(),
        (await rig.http.delete("/api/automations/purify", headers=owner)).json(),
    ]
    files = {a["file"] for a in answers[0]}
    assert files == {
        rig.saved_name("night_light"),
        rig.saved_name("porch"),
        "external:base.yaml",
    }
    for answer in answers:
        _no_absolute_paths(answer, rig.data.parent)


async def test_scenes_are_listed_and_applied_as_the_caller(rig: Rig) -> None:
    owner = await rig.login("olivia")
    scenes = {s["id"]: s for s in (await rig.http.get("/api/scenes", headers=owner)).json()}
    assert set(scenes) == {"evening", "away"}
    evening = scenes["evening"]
    assert evening["home"] == "h1"
    assert evening["states"] == {"hall": {"on": True, "brightness": 40}, "purifier": {"on": True}}
    assert [(s["device"], s["kind"], s["target"], s["args"]) for s in evening["steps"]] == [
        ("hall", "set", "on", {"value": True}),
        ("hall", "set", "brightness", {"value": 40}),
        ("purifier", "set", "on", {"value": True}),
    ]
    r = await rig.http.post("/api/scenes/evening/apply", headers=owner)
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["refused"] == []
    assert [(c["device"], c["target"], c["member"], c["face"]) for c in applied["commands"]] == [
        ("hall", "on", "olivia", "api"),
        ("hall", "brightness", "olivia", "api"),
        ("purifier", "on", "olivia", "api"),
    ]
    await rig.devices.until(lambda got: len(got) >= len(applied["commands"]))
    assert [(c.id, c.member) for c in rig.devices.received] == [
        (c["id"], "olivia") for c in applied["commands"]
    ]
    for command in applied["commands"]:  # each one went through the gatekeeper, on record
        r = await rig.http.get(f"/api/commands/{command['id']}", headers=owner)
        assert r.json()["status"] == "acked"
    audited = {e.command for e in await rig.access.audit.entries() if e.decision == "allowed"}
    assert {c["id"] for c in applied["commands"]} <= audited
    assert (await rig.http.post("/api/scenes/nope/apply", headers=owner)).status_code == 404


async def test_a_guest_applies_only_what_their_grant_covers(rig: Rig) -> None:
    guest = await rig.login("gina")
    r = await rig.http.post("/api/scenes/away/apply", headers=guest)
    assert r.status_code == 403
    problem = r.json()
    assert "gina may not apply scene 'away'" in problem["detail"]
    assert {(x["device"], x["status"]) for x in problem["refused"]} == {("hall", 403), ("purifier", 403)}
    assert rig.devices.received == []
    now = rig.hub.clock.time()
    await rig.access.members.grant("gina", Grant("g-1", ("hall",), ("*",), now - 60, now + 3600))
    r = await rig.http.post("/api/scenes/away/apply", headers=guest)
    assert r.status_code == 200
    assert [c["device"] for c in r.json()["commands"]] == ["hall"]
    assert [x["device"] for x in r.json()["refused"]] == ["purifier"]
    await rig.devices.until(lambda got: len(got) >= 1)
    assert [(c.device, c.member) for c in rig.devices.received] == [("hall", "gina")]


async def test_checking_an_edit_does_not_count_its_own_id_as_taken(rig: Rig) -> None:
    owner = await rig.login("olivia")
    text = (await rig.http.get("/api/automations/porch", headers=owner)).json()["text"]
    r = await rig.http.post("/api/automations/check", json={"text": text}, headers=owner)
    assert [e["message"] for e in r.json()["errors"]] == ["id: automation 'porch' is already loaded"]
    r = await rig.http.post("/api/automations/check", json={"text": text, "replace": "porch"}, headers=owner)
    assert r.json()["errors"] == []


async def test_a_restart_on_an_empty_data_directory_keeps_what_the_database_keeps(
    rig: Rig, tmp_path: Path
) -> None:
    owner = await rig.login("olivia")
    assert (await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)).status_code == 201
    assert (await rig.http.post("/api/automations/porch/disable", headers=owner)).status_code == 200
    before = rig.data
    assert await restart(rig, tmp_path / "empty") == []
    loaded = {a.id: a.enabled for a in rig.engine.automations()}
    if rig.database is None:  # kept as files: they stayed in the old data directory
        assert loaded == {"porch": True, "purify": True}
        assert (before / "automations" / "saved" / "night_light.yaml").read_text() == NEW
        return
    assert loaded == {"porch": False, "purify": True, "night_light": True}
    assert (await rig.http.get("/api/automations/night_light", headers=owner)).json()["text"] == NEW
    assert not before.joinpath("automations").exists()  # nothing of it was ever a file


async def test_saved_files_are_read_only_where_the_hub_keeps_its_saved_automations_in_files(
    rig: Rig,
) -> None:
    saved = rig.data / "automations" / "saved"
    saved.mkdir(parents=True)
    (saved / "night_light.yaml").write_text(NEW)
    (rig.data / "automations" / "enabled.json").write_text('{"night_light": false}\n')
    errors = await restart(rig)
    loaded = {a.id: a.enabled for a in rig.engine.automations()}
    if rig.database is None:
        assert errors == []
        assert loaded == {"porch": True, "purify": True, "night_light": False}
        return
    # In the database's place they would be a second record: reported with what to do.
    assert [(e.file, e.reason.split(";")[0]) for e in errors] == [
        (
            "automations/saved/night_light.yaml",
            "not read: this hub keeps its saved automations and switches in its database",
        ),
        (
            "automations/enabled.json",
            "not read: this hub keeps its saved automations and switches in its database",
        ),
    ]
    assert "carhome automations apply" in errors[0].reason
    assert loaded == {"porch": True, "purify": True}


async def test_a_saved_automation_that_no_longer_loads_is_named_where_it_is_kept(rig: Rig) -> None:
    owner = await rig.login("olivia")
    assert (await rig.http.post("/api/automations", json={"text": NEW}, headers=owner)).status_code == 201
    await rig.keep("night_light", NEW.replace("place: home}", "place: home, extra: 1}"))
    errors = await restart(rig)
    assert [(e.file, e.line) for e in errors] == [(rig.saved_name("night_light"), 6)]
    assert "unknown key 'extra'" in str(errors[0])
    assert "night_light" not in {a.id for a in rig.engine.automations()}
