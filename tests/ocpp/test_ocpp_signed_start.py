"""Signed starts end to end over OCPP: phone → hub API → OcppServer → the charger verifies.

The simulated wallbox (both OCPP versions) holds a ``DeviceKeys``; the phone enrolls on it
and opens sessions through the hub's key routes, which reach the charger as DataTransfer
asks through the real OCPP server. A signed ``start_charging`` goes to the charger as a
``signed-command`` DataTransfer and then as the remote start. Unsigned, forged, replayed
and expired starts, and a compromised hub calling the remote start itself, never get the
charger to start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from carhome.access.keyroutes import key_routes
from carhome.connectors.ocpp import OcppServer
from carhome.errors import ConnectorError
from carhome.hub import Command, CommandStatus, Hub
from carhome.ocpp.messages import SIGNED_COMMAND, SignedCommand
from carhome.signing import Role
from carhome.signing.keeper import DeviceKeys
from carhome.signing.relay import ByConnector, ListKeys
from carhome.spec import SPECS
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox
from carhome.wire.keyclient import Phone
from key_app import key_app
from key_app import phone as key_phone

WallboxFactory = Callable[..., SimulatedWallbox]
H = "h1"
WAIT = 5.0  # a safety net for a broken build; the tests wait on answers, never on time


class Rig:
    """The wallbox with keys, online and booted; Alice's phone enrolled as its owner."""

    def __init__(self, hub: Hub, server: OcppServer, box: SimulatedWallbox, phone: Phone) -> None:
        self.hub = hub
        self.server = server
        self.box = box
        self.phone = phone
        self.started: list[str] = []  # remote starts that reached the charger's own logic

    @property
    def start_action(self) -> str:
        return "RemoteStartTransaction" if self.box.version == "1.6" else "RequestStartTransaction"

    def starts(self) -> list[bool]:
        """The charger's answers to remote starts, in order."""
        return [ok for action, ok in self.box.answered if action == self.start_action]

    async def sign(self, ttl: float = 30.0) -> dict[str, Any]:
        return await self.phone.sign(H, "wallbox", "action", "start_charging", ttl=ttl)

    async def submit(self, command: Command) -> Command:
        """Hand ``command`` to the hub as a face would, and wait until it is final."""
        submitted = await self.hub.commands.submit(command)
        return await self.hub.commands.wait(submitted.id, WAIT)

    def forged(self, body: dict[str, Any], **changes: Any) -> Command:
        """A start the hub builds itself, carrying ``body``'s signature with ``changes``."""
        made = self.hub.commands.make(
            home=H,
            device="wallbox",
            kind="action",
            target="start_charging",
            args={},
            member=changes.pop("member", body["member"]),
            face="test",
            ttl=30,
        )
        fields = {"expires": body["expires"], "signature": body["signature"], **changes}
        return msgspec.structs.replace(made, **fields)


def _keys(tmp: Path, clock: FakeClock, screen: list[str]) -> DeviceKeys:
    return DeviceKeys(
        tmp / "wallbox",
        home=H,
        device="wallbox",
        spec=SPECS["wallbox"],
        clock=clock,
        display=screen.append,
    )


@pytest.fixture
async def rig(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Rig]:
    screen: list[str] = []
    relay = ByConnector(hub, {"ocpp": server})
    app = key_app(key_routes(hub, relay, who=lambda request: request.headers.get("x-member", "alice")))
    started: list[str] = []

    async def charger(action: str, payload: dict[str, Any]) -> bool:
        started.append(action)
        return True

    async with make_wallbox(keys=_keys(tmp_path, clock, screen), on_request=charger) as box:
        await box.boot()
        phone = key_phone(tmp_path / "phones" / "alice", httpx.ASGITransport(app=app), "alice")
        challenge = await phone.begin(H, "wallbox")
        await phone.enroll(challenge, code=screen[-1], role=Role.OWNER, member="alice")
        box.answered.clear()  # the begin and enroll asks: the tests look at what follows
        rig = Rig(hub, server, box, phone)
        rig.started = started
        yield rig


async def test_a_signed_start_executes(rig: Rig) -> None:
    command = await rig.phone.send(H, "wallbox", "action", "start_charging", wait=WAIT)

    assert command.status is CommandStatus.ACKED, command.error
    assert rig.box.signed == [command.id]
    # the session ask, the signed command, the start
    assert rig.box.answered == [("DataTransfer", True), ("DataTransfer", True), (rig.start_action, True)]
    assert rig.starts() == [True]
    assert rig.started == [rig.start_action]
    await rig.box.start("RFID-ALICE")  # the charger opens the session it was told to
    [tx] = rig.server.transactions_of("CP-1")
    assert tx.member == "alice"
    keys = await rig.phone.hub.keys(H, "wallbox")
    assert [(k.member, k.role, k.enabled) for k in keys] == [("alice", Role.OWNER, True)]


async def test_an_unsigned_start_is_refused_by_the_charger(rig: Rig) -> None:
    command = await rig.hub.submit(H, "wallbox", "action", "start_charging", member="alice", face="test")
    done = await rig.hub.commands.wait(command.id, WAIT)

    assert done.status is CommandStatus.FAILED
    assert done.error == "charger answered Rejected"
    assert "DataTransfer" not in [a for a, _ in rig.box.answered]  # unsigned: no DataTransfer
    assert rig.starts() == [False]
    assert rig.started == []
    assert rig.server.transactions_of("CP-1") == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"member": "bob"}, "bad_tag"),  # the hub puts Alice's signature on Bob's command
        ({"expires": 1e10}, "bad_tag"),  # stretched
        ({"args": {"x": 1}}, "bad_tag"),  # other arguments
        ({"signature": "bm90LWEtc2lnbmF0dXJl"}, "malformed"),
    ],
)
async def test_a_forged_start_is_refused_by_the_charger(
    rig: Rig, changes: dict[str, Any], reason: str
) -> None:
    body = await rig.sign()
    done = await rig.submit(rig.forged(body, **changes))

    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert done.error.startswith(f"{reason}:"), done.error
    assert rig.box.answered[-1] == ("DataTransfer", False)
    assert rig.starts() == []  # refused at the DataTransfer: the start call never went out
    assert rig.started == []
    assert rig.server.transactions_of("CP-1") == []


async def test_a_replayed_start_is_refused_by_the_charger(rig: Rig) -> None:
    first = await rig.phone.send(H, "wallbox", "action", "start_charging", wait=WAIT)
    assert first.status is CommandStatus.ACKED, first.error
    assert first.signature is not None

    # through the hub, under a new command id: the id is signed
    again = await rig.submit(
        rig.forged({"member": first.member, "expires": first.expires, "signature": first.signature})
    )
    assert again.status is CommandStatus.FAILED
    assert again.error is not None
    assert again.error.startswith("bad_tag:"), again.error

    # a compromised hub sends the very same signed command to the charger again
    link = rig.server.link("CP-1")
    assert link is not None
    replay = SignedCommand.of(first, first.signature)
    answer = await link.data_transfer(SIGNED_COMMAND, msgspec.json.encode(replay).decode())
    assert (answer.accepted, answer.status) == (False, "Rejected")
    assert answer.detail.startswith("replayed:"), answer.detail
    assert not (await link.start_charging("RFID-ALICE", 7)).accepted
    assert rig.starts() == [True, False]
    assert rig.started == [rig.start_action]  # the first, signed start only


async def test_an_expired_start_is_refused_by_the_charger(rig: Rig, clock: FakeClock) -> None:
    body = await rig.sign(ttl=5)
    await clock.advance(10)

    # the hub would expire it; a compromised (or late) hub delivers it all the same
    link = rig.server.link("CP-1")
    assert link is not None
    late = msgspec.convert({k: body[k] for k in SignedCommand.__struct_fields__}, SignedCommand)
    answer = await link.data_transfer(SIGNED_COMMAND, msgspec.json.encode(late).decode())
    assert not answer.accepted
    assert answer.detail.startswith("expired:"), answer.detail
    assert not (await link.start_charging("RFID-ALICE", 7)).accepted
    assert rig.started == []
    assert rig.server.transactions_of("CP-1") == []


async def test_a_compromised_hub_cannot_start_without_a_signed_command(rig: Rig) -> None:
    link = rig.server.link("CP-1")
    assert link is not None

    assert not (await link.start_charging("RFID-ALICE", 7)).accepted  # no DataTransfer at all

    signed = await rig.phone.send(H, "wallbox", "action", "start_charging", wait=WAIT)
    assert signed.status is CommandStatus.ACKED, signed.error
    # one signed command lets one start through, not a second one after it
    assert not (await link.start_charging("RFID-ALICE", 8)).accepted
    assert rig.starts() == [False, True, False]
    assert rig.started == [rig.start_action]


async def test_a_signed_command_for_another_action_starts_nothing(rig: Rig) -> None:
    stop = await rig.phone.send(H, "wallbox", "action", "stop_charging", wait=WAIT)
    assert stop.status is CommandStatus.FAILED  # no transaction to stop; signed all the same
    assert rig.box.signed == [stop.id]

    link = rig.server.link("CP-1")
    assert link is not None
    assert not (await link.start_charging("RFID-ALICE", 7)).accepted
    assert rig.started == []


async def test_a_charger_that_does_not_verify_gets_no_start(rig: Rig, make_wallbox: WallboxFactory) -> None:
    body = await rig.sign()
    await rig.box.disconnect()
    await rig.server.wait_connected("CP-1", connected=False)
    started: list[str] = []

    async def charger(action: str, payload: dict[str, Any]) -> bool:
        started.append(action)
        return True

    async with make_wallbox(on_request=charger) as plain:  # no keys: knows no DataTransfer
        await plain.boot()
        done = await rig.submit(rig.forged(body, id=body["id"]))

        assert done.status is CommandStatus.FAILED
        assert done.error is not None
        assert "does not verify carhome signatures" in done.error, done.error
        assert started == []
        assert plain.received == []


async def test_key_asks_reach_only_chargers_and_connectors_that_relay_them(
    rig: Rig, hub: Hub, server: OcppServer
) -> None:
    relay = ByConnector(hub, {"ocpp": server})
    with pytest.raises(ConnectorError, match="relays no key asks"):
        await relay.ask(H, "car", ListKeys())  # the car's connector (mqtt) is not given here
    reply = await relay.ask(H, "wallbox", ListKeys(), timeout=WAIT)
    assert reply.ok
    assert [k.member for k in reply.keys] == ["alice"]
