"""A command id is the hub's for good: a reused id is refused, never a rewrite of a record.

Signed commands come with the id the phone chose (the signature covers it), so an id can
arrive twice: replayed by someone who saw it, or made up to match another's. Whatever the
member, home or time — the command still pending, long done, or only in the store from
before a restart — the second is refused with ``DuplicateCommand`` (409 ``duplicate-id`` at
the API) before the gatekeeper is asked, and the record of the first stays as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import msgspec
import pytest
from starlette.requests import Request

from carhome.access.keyroutes import key_routes
from carhome.api import create_app
from carhome.errors import DuplicateCommand
from carhome.hub import Ack, Command, CommandStatus, Decision, Device, Home, Hub, derived_id
from carhome.signing.relay import ByConnector
from carhome.spec import DeviceSpec
from carhome.store import SqliteStore
from carhome.testing import FakeClock, RecordingTransport

HOMES = (
    Home(id="h1", name="Yizhuang", lat=39.7953, lon=116.5060),
    Home(id="h2", name="Next door", lat=39.7960, lon=116.5070),
)


class Asked:
    """A gatekeeper that allows everything and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        self.asked.append(command.member)
        return Decision(True, "test")


@asynccontextmanager
async def hub_on(path: Path, clock: FakeClock, gate: Asked | None = None) -> AsyncIterator[Hub]:
    """A hub on the SQLite file ``path`` with a garage door in each home; closing and
    opening it again is a real restart."""
    async with Hub(store=SqliteStore(path), clock=clock, gatekeeper=gate) as hub:
        if not hub.homes():
            for home in HOMES:
                await hub.add_home(home)
                await hub.add_device(Device(home=home.id, id="garage", type="garage_door"))
        hub.commands.attach("mqtt", RecordingTransport())
        yield hub


def signed(hub: Hub, member: str, *, home: str = "h1", command_id: str | None = None) -> Command:
    """An 'open' for ``home``'s garage as the signed route makes it: the phone's id and
    envelope on a command the hub checked."""
    made = hub.commands.make(
        home=home, device="garage", kind="action", target="open", member=member, face="api", ttl=600
    )
    return msgspec.structs.replace(made, id=command_id or uuid.uuid4().hex, signature=f"envelope-of-{member}")


async def test_a_pending_commands_id_is_refused_before_the_gatekeeper(
    tmp_path: Path, clock: FakeClock
) -> None:
    gate = Asked()
    async with hub_on(tmp_path / "hub.db", clock, gate) as hub:
        first = await hub.commands.submit(signed(hub, "olivia"))
        with pytest.raises(DuplicateCommand) as refused:
            await hub.commands.submit(signed(hub, "gus", command_id=first.id))
        assert refused.value.command_id == first.id
        assert str(refused.value) == (
            f"command id {first.id!r} is taken (a command id is used once, for good);"
            " send the command again under a new id"
        )
        assert gate.asked == ["olivia"]
        assert hub.commands.get(first.id) is first
        await hub.commands.drain()
        assert await hub.store.outbox_get(first.id) == first


async def test_an_id_stays_taken_after_restarts_for_every_member_and_home(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "hub.db"
    async with hub_on(path, clock) as hub:
        owners = await hub.commands.submit(signed(hub, "olivia"))
        hub.ack("h1", "garage", Ack(owners.id, "acked"))
        await hub.commands.wait(owners.id, timeout=1)
        await hub.flush()
        kept = await hub.store.outbox_get(owners.id)
    assert kept is not None
    assert kept.status is CommandStatus.ACKED
    for restart in range(2):
        await clock.advance(3600)
        async with hub_on(path, clock) as hub:
            assert hub.commands.get(owners.id) is None  # the router forgot it; the store did not
            for member, home in (("gus", "h1"), ("nora", "h2"), ("olivia", "h1")):
                with pytest.raises(DuplicateCommand):
                    await hub.commands.submit(signed(hub, member, home=home, command_id=owners.id))
            # a caller that says the id is fresh is refused all the same, by the store
            with pytest.raises(DuplicateCommand):
                await hub.commands.submit(signed(hub, "gus", command_id=owners.id), made_here=True)
            assert await hub.store.outbox_get(owners.id) == kept, restart
            assert [c.id for c in await hub.store.commands("h2")] == []


async def test_one_new_id_submitted_twice_at_once_is_accepted_once(tmp_path: Path, clock: FakeClock) -> None:
    async with hub_on(tmp_path / "hub.db", clock) as hub:
        command_id = uuid.uuid4().hex
        results = await asyncio.gather(
            hub.commands.submit(signed(hub, "olivia", command_id=command_id)),
            hub.commands.submit(signed(hub, "gus", command_id=command_id)),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["Command", "DuplicateCommand"]
        [accepted] = [r for r in results if isinstance(r, Command)]
        assert await hub.store.outbox_get(command_id) == accepted


async def test_the_api_answers_a_reused_id_with_a_conflict(tmp_path: Path, clock: FakeClock) -> None:
    """The signed-command route is where a client chooses the id: after a restart a guest's
    and another home's owner's reuse of the owner's id each get 409, and the record stays."""
    path = tmp_path / "hub.db"
    command_id = uuid.uuid4().hex

    def body(member: str) -> dict[str, object]:
        return {
            "id": command_id,
            "kind": "action",
            "target": "open",
            "args": {},
            "expires": clock.time() + 600,
            "member": member,
            "signature": f"envelope-of-{member}",
        }

    async def post(hub: Hub, member: str, home: str = "h1") -> httpx.Response:
        app = create_app(hub)
        app.router.routes.extend(key_routes(hub, ByConnector(hub), who=_member))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            return await client.post(
                f"/api/devices/{home}/garage/signed-commands", json=body(member), headers={"x-member": member}
            )

    async with hub_on(path, clock) as hub:
        assert (await post(hub, "olivia")).status_code == 202
        hub.ack("h1", "garage", Ack(command_id, "acked"))  # the garage opened
        await hub.commands.wait(command_id, timeout=1)
        kept = await hub.store.outbox_get(command_id)
    assert kept is not None
    assert kept.status is CommandStatus.ACKED
    async with hub_on(path, clock) as hub:
        for member, home in (("gus", "h1"), ("nora", "h2")):
            r = await post(hub, member, home)
            assert r.status_code == 409, r.text
            problem = r.json()
            assert problem["type"] == "urn:carhome:problem:duplicate-id"
            assert problem["command"] == command_id
            assert "send the command again under a new id" in problem["detail"]
        assert await hub.store.outbox_get(command_id) == kept
        assert [c.member for c in await hub.store.commands()] == ["olivia"]


def _member(request: Request) -> str:
    return request.headers["x-member"]


def test_a_derived_id_is_the_hash_of_each_part_as_json_and_a_separator() -> None:
    # Ids made by earlier versions must still match (a firing replayed after an upgrade
    # makes no second command): the construction is pinned, part by part.
    encoder = msgspec.json.Encoder(enc_hook=repr, order="sorted")
    parts: tuple[object, ...] = ("automation", "h1", "h1.arrive", 0, 1.5, None, {"b": [2], "a": "x"}, "\x1f")
    for some in (parts, parts[:1], ()):
        digest = hashlib.blake2b(digest_size=16, person=b"carhome-cmd-id")
        for part in some:
            digest.update(encoder.encode(part))
            digest.update(b"\x1f")
        assert derived_id(*some) == digest.hexdigest()
    assert derived_id("1") != derived_id(1)
    assert derived_id("a", "b") != derived_id("ab")
