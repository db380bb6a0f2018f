"""Automations and the hub's delegate keys: signed only where an owner delegated, and signed
before the command is submitted — the gatekeeper decides on a signed command and does
nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from carhome.access.delegates import DelegateKeys, DelegateSigner, DelegationGate
from carhome.automations import Engine
from carhome.errors import CommandDenied
from carhome.hub import AllowAll, Command, CommandStatus, Decision, Gatekeeper, Result
from carhome.signing import KeyPair, Role
from carhome.spec import DeviceSpec

from .conftest import TIMEOUT, CountingRelay, H, Rig, Wire, enroll_owner, kept_keys, message

OPEN_GARAGE = """
home: h1
automations:
  - id: welcome
    member: ana
    triggers:
      - trigger: place
        device: car
    actions:
      - action: command
        device: garage_door
        name: open
"""


@pytest.fixture(params=["files", pytest.param("postgres", marks=pytest.mark.postgres)])
async def delegate_keys(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[DelegateKeys]:
    """The hub's delegate keys in files, then in PostgreSQL: every test here runs on both."""
    async with kept_keys(request.param, tmp_path, request) as keys:
        yield keys


class Witness:
    """The hub's gatekeeper, watched: at each decision it notes the command's target, whether
    it came signed and how many asks had reached a device, and checks that none reaches one
    while the gatekeeper decides."""

    def __init__(self, gatekeeper: Gatekeeper, relay: CountingRelay) -> None:
        self.gatekeeper = gatekeeper
        self.relay = relay
        self.seen: list[tuple[str, bool, int]] = []

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        asks, signed = self.relay.asks, command.signature is not None
        decision = await self.gatekeeper.decide(command, spec)
        assert self.relay.asks == asks, "the gatekeeper talked to a device"
        assert (command.signature is not None) == signed, "the gatekeeper changed the command"
        self.seen.append((command.target, signed, asks))
        return decision


def guard(rig: Rig, inner: Gatekeeper) -> Witness:
    """The hub's signer and gatekeeper as the runtime composes them (no unsigned trust),
    the gatekeeper watched."""
    rig.hub.commands.signer = DelegateSigner(rig.delegates)
    witness = Witness(DelegationGate(inner), rig.relay)
    rig.hub.commands.gatekeeper = witness
    return witness


@pytest.fixture
async def engine(rig: Rig) -> AsyncIterator[Engine]:
    async with Engine(rig.hub) as engine:
        assert engine.load_text(OPEN_GARAGE) == []
        yield engine


def results(rig: Rig) -> asyncio.Queue[Command]:
    """The hub's commands as each reaches a final status, from now on."""
    done: asyncio.Queue[Command] = asyncio.Queue()
    rig.hub.bus.subscribe(lambda result: result.final and done.put_nowait(result.command), kind=Result)
    return done


async def test_an_automation_opens_the_garage_only_once_an_owner_delegated(rig: Rig, engine: Engine) -> None:
    witness = guard(rig, AllowAll())
    ana = await enroll_owner(rig)

    engine.trigger("welcome")
    await asyncio.wait_for(engine.idle(), TIMEOUT)
    refused = engine.trace("welcome")[-1]
    assert refused.status == "failed"
    assert refused.reason is not None
    assert "no owner delegated garage on h1/garage_door to the hub" in refused.reason
    assert "carhome keys delegate h1/garage_door garage" in refused.reason
    assert rig.relay.asks == 0  # the hub asked the device for no session: nothing to sign with
    assert witness.seen == [("open", False, 0)]  # decided unsigned, and refused
    assert rig.device("garage_door").motion == 0  # type: ignore[attr-defined]

    challenge = await ana.begin(H, "garage_door")
    delegate = await ana.delegate(challenge, domains=("garage",), code=rig.device("garage_door").screen)
    assert (delegate.member, delegate.role) == ("delegate:garage", Role.GUEST)

    finished = results(rig)
    engine.trigger("welcome")
    await asyncio.wait_for(engine.idle(), TIMEOUT)
    done = await asyncio.wait_for(finished.get(), TIMEOUT)
    assert done.status is CommandStatus.ACKED, done.error
    assert done.face == "automation"
    assert done.signature is not None
    assert rig.device("garage_door").motion == 1  # type: ignore[attr-defined]
    # signed before it was submitted: one session ask to the device, then a decision on a
    # command that already carried its signature
    assert witness.seen[1:] == [("open", True, 1)]

    # a person's command from the API is not signed by the hub: the device refuses it
    plain = await rig.hub.submit(H, "garage_door", "action", "close", member="ana", face="api")
    done = await rig.hub.commands.wait(plain.id, 5)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert done.error.startswith("unsigned")
    assert witness.seen[-1] == ("close", False, 1)


async def test_the_gate_decides_a_delegated_command_with_no_key_and_no_relay(rig: Rig) -> None:
    """The decision is pure: a gate built with neither keys nor relay decides an automation's
    command from what it carries — its signature, or an owner's trust — and talks to nobody."""
    ana = await enroll_owner(rig)
    challenge = await ana.begin(H, "garage_door")
    await ana.delegate(challenge, domains=("garage",), code=rig.device("garage_door").screen)
    gate = DelegationGate(AllowAll())
    spec = rig.hub.spec(H, "garage_door")

    draft = rig.hub.commands.make(
        home=H, device="garage_door", kind="action", target="open", member="ana", face="automation"
    )
    refused = await gate.decide(draft, spec)
    assert not refused.allowed
    assert "no owner delegated garage" in refused.reason

    signature = await rig.delegates.sign(draft, "garage")  # what the signer does before submitting
    asks = rig.relay.asks
    allowed = await gate.decide(msgspec.structs.replace(draft, signature=signature), spec)
    assert allowed.allowed, allowed.reason
    assert rig.relay.asks == asks

    trusting = DelegationGate(AllowAll(), unsigned=lambda home, device, domain: domain == "garage")
    assert (await trusting.decide(draft, spec)).allowed


async def test_a_delegation_the_hub_cannot_use_is_refused_with_its_cause(rig: Rig) -> None:
    guard(rig, AllowAll())
    ana = await enroll_owner(rig)
    challenge = await ana.begin(H, "garage_door")
    await ana.delegate(challenge, domains=("garage",), code=rig.device("garage_door").screen)
    # the hub's pin no longer matches the garage's key: its session answer cannot verify
    await rig.delegates.pin(H, "garage_door", KeyPair.generate().public.point, "delegate:garage")

    with pytest.raises(CommandDenied) as denied:
        await rig.hub.submit(
            H, "garage_door", "action", "open", member="ana", face="automation", delegated=True
        )
    assert "could not sign with the delegate key of h1/garage_door" in denied.value.reason
    assert "answered with a key other than the one pinned" in denied.value.reason
    assert rig.hub.commands.pending() == []
    assert rig.device("garage_door").motion == 0  # type: ignore[attr-defined]


async def test_the_delegate_key_cannot_sign_outside_its_domains(rig: Rig, wire: Wire) -> None:
    ana = await enroll_owner(rig, device="car")
    challenge = await ana.begin(H, "car")
    await ana.delegate(challenge, domains=("charging",), code=rig.device("car").screen)
    rig.device("car").doors_locked = True  # type: ignore[attr-defined]

    # a compromised hub signs an unlock with the key it holds and publishes it itself
    unlock = rig.hub.commands.make(
        home=H, device="car", kind="action", target="unlock", member="ana", face="automation"
    )
    signature = await rig.delegates.sign(unlock, "car_doors")
    body = {
        "id": unlock.id,
        "kind": "action",
        "target": "unlock",
        "args": {},
        "expires": unlock.expires,
        "signature": signature,
        "member": "ana",
    }
    wire.publish("car", message(body))
    assert (await wire.refusal(unlock.id)).startswith("not_delegated")
    assert rig.device("car").doors_locked  # type: ignore[attr-defined]

    # in its domain it passes the signature check (the unplugged car then refuses on its own)
    guard(rig, AllowAll())
    command = await rig.hub.submit(
        H, "car", "action", "start_charging", member="ana", face="automation", delegated=True
    )
    assert command.signature is not None
    done = await rig.hub.commands.wait(command.id, 5)
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "not plugged in" in done.error
