"""Automations and the hub's delegate keys: signed only where an owner delegated."""

from __future__ import annotations

import pytest

from carhome.access.delegates import AutomationSigner
from carhome.errors import CommandDenied
from carhome.hub import AllowAll, CommandStatus
from carhome.signing import Role

from .conftest import H, Rig, Wire, enroll_owner, message


async def test_an_automation_opens_the_garage_only_once_an_owner_delegated(rig: Rig) -> None:
    ana = await enroll_owner(rig)
    rig.hub.commands.gatekeeper = AutomationSigner(AllowAll(), rig.delegates)

    with pytest.raises(CommandDenied) as denied:
        await rig.hub.submit(H, "garage_door", "action", "open", member="ana", face="automation")
    assert "no owner delegated garage" in denied.value.reason
    assert rig.device("garage_door").motion == 0  # type: ignore[attr-defined]

    challenge = await ana.begin(H, "garage_door")
    delegate = await ana.delegate(challenge, domains=("garage",), code=rig.device("garage_door").screen)
    assert (delegate.member, delegate.role) == ("delegate:garage", Role.GUEST)

    command = await rig.hub.submit(H, "garage_door", "action", "open", member="ana", face="automation")
    done = await rig.hub.commands.wait(command.id, 5)
    assert done.status is CommandStatus.ACKED, done.error
    assert rig.device("garage_door").motion == 1  # type: ignore[attr-defined]

    # a person's command from the API is not signed by the hub: the device refuses it
    plain = await rig.hub.submit(H, "garage_door", "action", "close", member="ana", face="api")
    done = await rig.hub.commands.wait(plain.id, 5)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert done.error.startswith("unsigned")


async def test_the_delegate_key_cannot_sign_outside_its_domains(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig, device="car")
    challenge = await ana.begin(H, "car")
    await ana.delegate(challenge, domains=("charging",), code=rig.device("car").screen)
    rig.device("car").doors_locked = True  # type: ignore[attr-defined]

    # a compromised hub signs an unlock with the key it holds and publishes it itself
    unlock = rig.hub.commands.make(
        home=H, device="car", kind="action", target="unlock", member="ana", face="automation"
    )
    unlock.signature = await rig.delegates.sign(unlock, "car_doors")
    body = {
        "id": unlock.id,
        "kind": "action",
        "target": "unlock",
        "args": {},
        "expires": unlock.expires,
        "signature": unlock.signature,
        "member": "ana",
    }
    wire.publish("car", message(body))
    ack = await wire.ack(unlock.id)
    assert ack.status == "failed"
    assert ack.error is not None
    assert ack.error.startswith("not_delegated")
    assert rig.device("car").doors_locked  # type: ignore[attr-defined]

    # in its domain it passes the signature check (the unplugged car then refuses on its own)
    rig.hub.commands.gatekeeper = AutomationSigner(AllowAll(), rig.delegates)
    command = await rig.hub.submit(H, "car", "action", "start_charging", member="ana", face="automation")
    done = await rig.hub.commands.wait(command.id, 5)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "not plugged in" in done.error
