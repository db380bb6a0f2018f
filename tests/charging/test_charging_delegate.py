"""The charging controller starts a charger that verifies signatures, with the delegate key
an owner enrolled there for charging: the start is signed before it is submitted, and the
gatekeeper decides on a signed command. Without the delegation it is refused, saying how
to delegate, and the charger never hears of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from charging_parts import PASSWORD, TARIFF, plug_in, report_soc, settings, setup, start_action, until
from starlette.applications import Starlette

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.delegates import Delegates, DelegateSigner, DelegationGate, FileDelegateKeys
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.keyroutes import key_routes
from carhome.access.members import Member, Members
from carhome.connectors.ocpp import OcppServer
from carhome.energy import Mode
from carhome.energy.controller import RETRY_S, ChargingController
from carhome.hub import Hub
from carhome.signing import DeviceKeys, Role
from carhome.signing.relay import ByConnector
from carhome.spec import SPECS
from carhome.testing import FakeClock
from carhome.testing.wallbox import SimulatedWallbox, Version
from carhome.wire.keyclient import HubKeys, KeyRing, Phone


class Home:
    """Access as the runtime composes it, the owner's phone, and the hub's delegate keys."""

    def __init__(self, hub: Hub, server: OcppServer, clock: FakeClock, tmp: Path) -> None:
        members = Members(members=[Member("owner", "h1", "Ana", Role.OWNER)])
        self.audit = AuditLog(MemoryAuditStore(), clock)
        gate = PolicyGatekeeper(members, self.audit, clock, require_signatures=True)
        keys = FileDelegateKeys(tmp / "delegates")
        self.delegates = Delegates(keys, ByConnector(hub, {"ocpp": server}), clock)
        self.signer = DelegateSigner(self.delegates, unsigned=gate.trusts_unsigned)
        hub.commands.signer = self.signer
        hub.commands.gatekeeper = DelegationGate(gate, unsigned=gate.trusts_unsigned)
        app = Starlette(
            routes=key_routes(
                hub, ByConnector(hub, {"ocpp": server}), who=lambda _: "owner", delegates=self.delegates
            )
        )
        ring = KeyRing(tmp / "phone")
        ring.create()
        self.phone = Phone(ring, HubKeys("http://hub", transport=httpx.ASGITransport(app=app)))


@pytest.fixture
async def verifying(
    server: OcppServer, clock: FakeClock, version: Version, tmp_path: Path
) -> AsyncIterator[tuple[SimulatedWallbox, list[str]]]:
    screen: list[str] = []
    keys = DeviceKeys(
        tmp_path / "wallbox",
        home="h1",
        device="wallbox",
        spec=SPECS["wallbox"],
        clock=clock,
        display=screen.append,
    )
    box = SimulatedWallbox(
        f"ws://127.0.0.1:{server.port}/ocpp",
        "CP-1",
        version=version,
        password=PASSWORD,
        clock=clock,
        keys=keys,
    )
    async with box:
        await box.boot()
        await server.wait_connected("CP-1")
        yield box, screen


async def test_the_controller_starts_a_verifying_charger_with_the_delegate_key(
    hub: Hub,
    server: OcppServer,
    evening: FakeClock,
    tmp_path: Path,
    verifying: tuple[SimulatedWallbox, list[str]],
) -> None:
    box, screen = verifying
    home = Home(hub, server, evening, tmp_path)
    challenge = await home.phone.begin("h1", "wallbox")
    await home.phone.enroll(challenge, code=screen[-1], role=Role.OWNER, member="owner")
    report_soc(hub, 60.0)

    async with ChargingController(hub, setup(), settings(Mode.NOW), TARIFF) as controller:
        await plug_in(box)
        await until(controller, lambda: "no owner delegated charging" in (controller.status.problem or ""))
        problem = controller.status.problem or ""
        assert "`carhome keys delegate h1/wallbox charging`" in problem, problem
        assert start_action(box) not in [action for action, _ in box.received]
        assert box.signed == []

        challenge = await home.phone.begin("h1", "wallbox")
        await home.phone.delegate(challenge, domains=("charging",), code=screen[-1])
        await evening.advance(RETRY_S)  # past the controller's pause after a refusal
        await until(controller, lambda: start_action(box) in [action for action, _ in box.received])

    assert home.signer.signed == 1
    assert len(box.signed) == 1  # the charger verified the signed start before it started
    starts: list[Any] = [
        e for e in await home.audit.entries() if e.target == "start_charging" and e.face == "automation"
    ]
    assert [(e.command, e.decision) for e in starts] == [(box.signed[0], "allowed")]
    assert all("unsigned" not in e.reason for e in starts)
