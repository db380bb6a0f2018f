"""End to end over Mosquitto: phone → hub API → hub → MQTT → the simulated device verifies.

The phone enrolls through the hub (owner signature and the code on the device's screen),
signs, and the device executes. A compromised hub — played by a bare MQTT client publishing
on the device's command topic — cannot make it run anything forged, replayed, expired,
foreign or out of its window; a reboot makes a new epoch and a restart keeps the keys.
"""

from __future__ import annotations

from typing import Any

import pytest

from carhome.hub import CommandStatus
from carhome.signing import Role
from carhome.testing import FakeClock
from carhome.wire.problems import ApiError

from .conftest import H, Rig, Wire, enroll_owner, message


async def test_enroll_sign_and_execute_through_the_hub(rig: Rig) -> None:
    ana = await enroll_owner(rig)
    garage = rig.device("garage_door")
    assert garage.screen == ""  # the code is gone from the screen once used

    command = await ana.send(H, "garage_door", "action", "open", wait=5)

    assert command.status is CommandStatus.ACKED, command.error
    assert garage.motion == 1  # type: ignore[attr-defined]
    keys = await ana.hub.keys(H, "garage_door")
    assert [(k.member, k.role, k.enabled) for k in keys] == [("ana", Role.OWNER, True)]


async def test_a_second_key_needs_the_owner_and_the_code(rig: Rig) -> None:
    ana = await enroll_owner(rig)
    bob = rig.phone("bob")

    challenge = await ana.begin(H, "garage_door")
    with pytest.raises(ApiError) as no_owner:
        await bob.enroll(challenge, code=rig.device("garage_door").screen, role=Role.FAMILY, member="bob")
    assert no_owner.value.reason == "no_approval"
    assert no_owner.value.code == "key-refused"
    assert "no_approval" not in str(no_owner.value), "the code is a field, not words to read"

    challenge = await ana.begin(H, "garage_door")
    wrong = "000000" if rig.device("garage_door").screen != "000000" else "111111"
    with pytest.raises(ApiError) as bad_code:
        await bob.enroll(challenge, code=wrong, role=Role.FAMILY, member="bob", approver=ana)
    assert bad_code.value.reason == "wrong_code"
    assert "wrong_code" not in str(bad_code.value)

    code = rig.device("garage_door").screen
    await bob.enroll(challenge, code=code, role=Role.FAMILY, member="bob", approver=ana)
    command = await bob.send(H, "garage_door", "action", "open", wait=5)
    assert command.status is CommandStatus.ACKED, command.error
    assert command.member == "bob"


async def test_the_hubs_screen_shows_the_code_on_loopback(rig: Rig) -> None:
    ana = await enroll_owner(rig)
    await ana.begin(H, "garage_door")
    assert await ana.hub.code(H, "garage_door") == rig.device("garage_door").screen


async def test_unsigned_and_forged_commands_are_refused_by_the_device(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig)
    garage = rig.device("garage_door")
    forgeries: dict[str, tuple[dict[str, Any], str]] = {
        "unsigned": ({"signature": None}, "unsigned"),
        "retargeted": ({"target": "open"}, "bad_tag"),
        "other member": ({"member": "mallory"}, "bad_tag"),
        "other arguments": ({"args": {"x": 1}}, "bad_tag"),
        "stretched": ({"expires": 1e10}, "bad_tag"),
        "garbage": ({"signature": "bm90LWEtc2lnbmF0dXJl"}, "malformed"),
    }
    for name, (changes, reason) in forgeries.items():
        body = await ana.sign(H, "garage_door", "action", "close")
        wire.publish("garage_door", message(body, **changes))
        error = await wire.refusal(body["id"])
        assert error.startswith(reason), (name, error)
    assert garage.motion == 0  # type: ignore[attr-defined]
    assert rig.clients["garage_door"].stats.executed == 0


async def test_a_replayed_command_runs_once(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig)
    command = await ana.send(H, "garage_door", "action", "open", wait=5)
    assert command.status is CommandStatus.ACKED
    client = rig.clients["garage_door"]
    executed = client.stats.executed

    resent = {
        "id": command.id,
        "kind": "action",
        "target": "open",
        "args": {},
        "expires": command.expires,
        "signature": command.signature,
        "member": command.member,
    }
    wire.publish("garage_door", resent)  # same id: the stored ack again, nothing run
    assert (await wire.ack(command.id, count=2)).status == "acked"  # the first went to the hub
    assert client.stats.executed == executed

    # the device software restarts (its memory of ids is gone; the counters are on disk)
    await rig.stop_devices()
    rig.secure(boot=False)
    await rig.start_devices()
    client = rig.clients["garage_door"]
    wire.publish("garage_door", resent)
    assert (await wire.refusal(command.id, count=3)).startswith("replayed")
    assert client.stats.executed == 0


async def test_expired_foreign_and_out_of_window_are_refused(rig: Rig, wire: Wire, clock: FakeClock) -> None:
    ana = await enroll_owner(rig)
    await enroll_owner(rig, "ana", "front_door")

    # expired: signed for 5 s, delivered after 10
    late = await ana.sign(H, "garage_door", "action", "open", ttl=5)
    await clock.advance(10)
    wire.publish("garage_door", message(late))
    assert (await wire.ack(late["id"])).status == "expired"

    # foreign: a garage command sent to the front door's lock
    garage_cmd = await ana.sign(H, "garage_door", "action", "open")
    wire.publish("front_door", message(garage_cmd))
    assert (await wire.refusal(garage_cmd["id"])).startswith("wrong_domain")

    # out of window: 35 signed, the newest delivered first, then the oldest (34 below it)
    signed = [await ana.sign(H, "garage_door", "action", "open")]
    signed += [await ana.sign(H, "garage_door", "action", "stop") for _ in range(34)]
    newest, oldest = signed[-1], signed[0]
    for body in (newest, oldest):
        wire.publish("garage_door", message(body))
    assert (await wire.ack(newest["id"])).status == "acked"
    assert (await wire.refusal(oldest["id"])).startswith("out_of_window")

    # strict order for the lock: the second first, then the first
    first = await ana.sign(H, "front_door", "action", "unlock")
    second = await ana.sign(H, "front_door", "action", "lock")
    wire.publish("front_door", message(second))
    wire.publish("front_door", message(first))
    assert (await wire.ack(second["id"])).status == "acked"
    assert (await wire.refusal(first["id"])).startswith("out_of_order")


async def test_reboot_makes_a_new_epoch_and_restart_keeps_the_keys(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig)
    garage = rig.device("garage_door")
    assert garage.keys is not None
    epoch = garage.keys.epoch
    before = await ana.sign(H, "garage_door", "action", "open")

    await rig.stop_devices()
    rig.secure(boot=True)  # power-up: same directory, new epoch
    await rig.start_devices()
    assert garage.keys is not None
    assert garage.keys.epoch != epoch

    wire.publish("garage_door", message(before))
    assert (await wire.refusal(before["id"])).startswith("foreign_epoch")

    keys = await ana.hub.keys(H, "garage_door")
    assert [k.member for k in keys] == ["ana"]
    command = await ana.send(H, "garage_door", "action", "open", wait=5)
    assert command.status is CommandStatus.ACKED, command.error

    # a reboot with the devices running: the next command opens a new session by itself
    garage.reboot()
    command = await ana.send(H, "garage_door", "action", "close", wait=5)
    assert command.status is CommandStatus.ACKED, command.error


async def test_revoked_key_cannot_open_a_session_or_run_what_it_signed(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig)
    bob = rig.phone("bob")
    challenge = await ana.begin(H, "garage_door")
    await bob.enroll(
        challenge, code=rig.device("garage_door").screen, role=Role.FAMILY, member="bob", approver=ana
    )
    pending = await bob.sign(H, "garage_door", "action", "open")

    revoked = await ana.revoke(H, "garage_door", bob.ring.key().public.point)
    assert not revoked.enabled

    wire.publish("garage_door", message(pending))
    assert (await wire.refusal(pending["id"])).startswith("disabled_key")
    with pytest.raises(ApiError) as refused:
        await bob.send(H, "garage_door", "action", "open")
    assert refused.value.reason == "disabled_key"
    with pytest.raises(ApiError) as last:
        await ana.revoke(H, "garage_door", ana.ring.key().public.point)
    assert last.value.reason == "last_owner"
