"""An automation belongs to one home: it runs as a member of that home and reaches only
that home's devices — checked when it is saved, checked, loaded, and when it submits.

The attack these reproduce: the owner of home ``h2`` saves an automation that names the
owner of home ``h1`` as the member it runs as and ``h1``'s devices as its targets (or
reads ``h1``'s car through its triggers and traces). Each must be refused with nothing
saved, nothing loaded and nothing sent to ``h1``'s devices.
"""

from __future__ import annotations

import pytest
from api_rig import Rig, restart

from carhome.automations import Engine
from carhome.errors import ConfigError
from carhome.hub import Command

ARRIVE = "[{trigger: place, device: car, event: enter, place: home}]"


def text(*, member: str | None, device: str = "hall", trigger_device: str = "car", home: str = "h2") -> str:
    who = f"    member: {member}\n" if member is not None else ""
    return f"""home: {home}
automations:
  - id: takeover
{who}    triggers: [{{trigger: place, device: {trigger_device}, event: enter, place: home}}]
    actions:
      - {{action: command, device: {device}, name: turn_on}}
"""


ATTACKS = {
    # h1's owner as the member, h1's light as the target: the reported attack
    "as h1's owner on h1's devices": (
        text(member="olivia", device="h1/hall"),
        {"member"},
    ),
    # the saver's own name, h1's devices
    "as oneself on h1's devices": (text(member="nora", device="h1/hall"), {"actions[0].device"}),
    # h1's owner on the saver's own devices: commands decided as a member of another home
    "as h1's owner on own devices": (text(member="olivia"), {"member"}),
    # reading h1's car through a trigger (its values would show in the traces)
    "reading h1's car": (text(member="nora", trigger_device="h1/car"), {"triggers[0].device"}),
}


def _sent_to_h1(received: list[Command]) -> list[tuple[str, str]]:
    return [(c.device, c.target) for c in received if c.home == "h1"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_saving_an_automation_that_reaches_another_home_is_refused(rig: Rig, attack: str) -> None:
    body, paths = ATTACKS[attack]
    nora = await rig.login("nora")
    r = await rig.http.post("/api/automations", json={"text": body}, headers=nora)
    assert r.status_code == 422, r.text
    assert paths <= {e["path"] for e in r.json()["errors"]}, r.json()
    assert await rig.kept() == {}
    assert "takeover" not in {a.id for a in rig.engine.automations()}
    # checking the text says the same and binds nothing of h1 for the caller
    r = await rig.http.post("/api/automations/check", json={"text": body}, headers=nora)
    assert r.status_code == 200
    assert r.json()["errors"], attack
    # and h1's devices hear nothing when h2's car comes home
    rig.hub.report("h2", "car", {"place": "away"}, trusted=True)
    rig.hub.report("h2", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    assert _sent_to_h1(rig.devices.received) == []


async def test_an_automation_claiming_another_home_is_refused(rig: Rig) -> None:
    nora = await rig.login("nora")
    r = await rig.http.post("/api/automations", json={"text": text(member="olivia", home="h1")}, headers=nora)
    assert r.status_code == 422
    assert {"home", "member"} <= {e["path"] for e in r.json()["errors"]}
    r = await rig.http.post(
        "/api/automations/check", json={"text": text(member="olivia", home="h1")}, headers=nora
    )
    # refused before binding: nothing of h1 (its devices, their names) is looked up for nora
    assert [e["message"].split(":")[0] for e in r.json()["errors"]] == ["home", "member"]


async def test_an_automation_without_a_member_runs_as_the_one_who_saved_it(rig: Rig) -> None:
    nora = await rig.login("nora")
    r = await rig.http.post("/api/automations", json={"text": text(member=None)}, headers=nora)
    assert r.status_code == 201, r.text
    saved = (await rig.kept())["takeover"]
    assert "    member: nora\n" in saved
    rig.hub.report("h2", "car", {"place": "away"}, trusted=True)
    rig.hub.report("h2", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    await rig.devices.until(lambda got: any(c.home == "h2" for c in got))
    assert [(c.home, c.device, c.target, c.member) for c in rig.devices.received if c.home == "h2"] == [
        ("h2", "hall", "turn_on", "nora")
    ]
    assert _sent_to_h1(rig.devices.received) == []


async def test_checking_takes_the_right_to_save(rig: Rig) -> None:
    for member in ("gina", "fred"):
        other = await rig.login(member)
        r = await rig.http.post(
            "/api/automations/check", json={"text": text(member=None, home="h1")}, headers=other
        )
        assert r.status_code == 403, member


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_a_file_on_disk_that_reaches_another_home_is_not_loaded(rig: Rig, attack: str) -> None:
    body, _ = ATTACKS[attack]
    for where in ("saved/takeover.yaml", "hand-written.yaml"):
        path = rig.data / "automations" / where
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        errors = await restart(rig)
        assert "takeover" not in {a.id for a in rig.engine.automations()}, where
        assert [e.file for e in errors] == [f"automations/{where}"]
        path.unlink()
    rig.hub.report("h2", "car", {"place": "away"}, trusted=True)
    rig.hub.report("h2", "car", {"place": "home"}, trusted=True)
    await rig.engine.idle()
    assert _sent_to_h1(rig.devices.received) == []


async def test_loading_names_the_reason(rig: Rig) -> None:
    async with Engine(rig.hub, members=rig.access.members) as engine:
        errors = engine.load_text(text(member="olivia", device="h1/hall"), "takeover.yaml")
        assert len(errors) == 1
        assert isinstance(errors[0], ConfigError)
        assert "in home 'h1'; this automation acts in home 'h2'" in str(errors[0])
        assert errors[0].line == 7
        [error] = engine.load_text(text(member="olivia"), "takeover.yaml")
        assert "'olivia' is not a member of home 'h2'" in str(error)
        assert error.line == 4
        # an unknown member reads the same as another home's: no probing for names
        [error] = engine.load_text(text(member="nobody"), "takeover.yaml")
        assert "'nobody' is not a member of home 'h2'" in str(error)
        [error] = engine.load_text(text(member=None), "takeover.yaml")
        assert "say which member of home 'h2'" in str(error)


async def test_the_gatekeeper_refuses_a_foreign_member_even_without_the_load_check(rig: Rig) -> None:
    """An engine embedded without the members (no load check) still cannot act as another
    home's member: the hub's gatekeeper decides each command at submit."""
    async with Engine(rig.hub) as engine:
        assert engine.load_text(text(member="olivia"), "embedded.yaml") == []
        rig.hub.report("h2", "car", {"place": "away"}, trusted=True)
        rig.hub.report("h2", "car", {"place": "home"}, trusted=True)
        await engine.idle()
        [trace] = engine.trace("takeover")
        assert trace.status == "failed"
        assert "olivia is not a member of home 'h2'" in str(trace.reason)
        # and its devices are still its own home's only
        assert engine.load_text(text(member="nora", device="h1/hall").replace("takeover", "other"))
    assert [c for c in rig.devices.received if c.member == "olivia"] == []


def test_with_member_writes_the_member_after_the_id_in_either_style() -> None:
    from carhome.automations.files import with_member  # noqa: PLC0415

    block = f"automations:\n  - id: a  # mine\n    triggers: {ARRIVE}\n    actions: []\n"
    assert with_member(block, "nora") == block.replace("id: a", "id: a\n    member: nora")
    flow = f"automations:\n  - {{id: a, triggers: {ARRIVE}, actions: []}}\n"
    assert with_member(flow, "nora") == flow.replace("id: a,", "id: a, member: nora,")
    named = f"automations:\n  - id: a\n    member: fred\n    triggers: {ARRIVE}\n    actions: []\n"
    assert with_member(named, "nora") == named


async def test_a_guest_reads_no_automation(rig: Rig) -> None:
    """A guest's grants show some devices; an automation's text and traces name others
    (and where the car is), so a guest is shown none of them."""
    gina = await rig.login("gina")
    r = await rig.http.get("/api/automations", headers=gina)
    assert (r.status_code, r.json()) == (200, [])
    for path in ("/api/automations/porch", "/api/automations/porch/traces"):
        assert (await rig.http.get(path, headers=gina)).status_code == 404
    fred = await rig.login("fred")
    assert {a["id"] for a in (await rig.http.get("/api/automations", headers=fred)).json()} == {
        "porch",
        "purify",
    }


async def test_cross_home_figures(rig: Rig) -> None:
    """Every attack through every way in (save, check, a file loaded at start), then h2's
    car comes and goes: what reached or read home h1 is counted."""
    nora = await rig.login("nora")
    attempts = 0
    reads = 0
    for body, _ in ATTACKS.values():
        for method, path in (("POST", "/api/automations"), ("POST", "/api/automations/check")):
            attempts += 1
            r = await rig.http.request(method, path, json={"text": body}, headers=nora)
            # a check that binds h1's names for nora would answer without errors
            reads += r.status_code == 200 and not r.json()["errors"]
        attempts += 1
        (rig.data / "automations").mkdir(exist_ok=True)
        (rig.data / "automations" / "planted.yaml").write_text(body)
        await restart(rig)
    for place in ("away", "home", "away", "home"):
        rig.hub.report("h2", "car", {"place": place}, trusted=True)
        await rig.engine.idle()
    h1_ids = {a.id for a in rig.engine.automations() if rig.engine.home_of(a.id) == "h1"}
    reads += sum(1 for i in h1_ids if any(t.trigger and t.trigger.home == "h2" for t in rig.engine.trace(i)))
    actions = len(_sent_to_h1(rig.devices.received))
    print(f"\ncross-home actions: {actions} of {attempts} attempts; cross-home reads: {reads}")
    assert (actions, reads) == (0, 0)
