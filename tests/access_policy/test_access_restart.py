"""The access part keeps members, grants with their uses and the audit chain across a restart,
in the data directory's ``access.db`` or, when the hub's store is PostgreSQL, in its tables."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from backends import Backend
from policy_rig import DEVICES, command

from carhome.access.database import ACCESS_DB
from carhome.access.members import Grant, Member
from carhome.access.service import TOKEN_KEY, Access
from carhome.compose.config import Config
from carhome.compose.parts import compose, hub_parts
from carhome.hub import Hub
from carhome.hub.commands import Decision
from carhome.parts import Context
from carhome.parts.keys import POSTGRES
from carhome.pgdatabase import PgDatabase
from carhome.testing import FakeClock
from carhome.wire.members import Role


@contextlib.asynccontextmanager
async def running(hub: Hub, clock: FakeClock, data: Path, backend: Backend) -> AsyncIterator[Access]:
    """The access part of a hub process over ``data``, on the hub's PostgreSQL database when
    ``backend`` is PostgreSQL (the process provides it, as ``carhome.compose.runtime`` does)."""
    async with contextlib.AsyncExitStack() as stack:
        context = Context(hub=hub, clock=clock, data=data)
        if backend.url is not None:
            context.provide(POSTGRES, await stack.enter_async_context(PgDatabase(backend.url)))
        [part] = [p for p in hub_parts(Config()) if p.name == "access"]
        await stack.enter_async_context(compose([part], Config(), context))
        access = context.access
        if not isinstance(access, Access):
            raise TypeError(f"the access part gave {access!r}")
        yield access


async def test_members_grant_uses_and_the_chain_outlive_a_restart(
    hub: Hub, clock: FakeClock, tmp_path: Path, kept: Backend
) -> None:
    data = tmp_path / "data"
    now = clock.time()
    async with running(hub, clock, data, kept) as access:
        await access.members.add(Member(id="olga", home="h1", name="Olga", role=Role.OWNER))
        await access.members.add(Member(id="gus", home="h1", name="Gus", role=Role.GUEST))
        await access.members.add(Member(id="otto", home="h2", name="Otto", role=Role.OWNER))
        await access.members.grant("gus", Grant("g-twice", ("garage",), ("open",), now, now + 3600, uses=2))
        cmd = command("gus", "garage", "action", "open", {}, "api", clock.time(), signed=True)
        assert (await access.gatekeeper.decide(cmd, DEVICES["garage"])).allowed
        await access.members.revoke("olga")
        await access.record(
            home="h2",
            member="otto",
            face="cli",
            command="-",
            device="-",
            target="t",
            decision=Decision(True, "ok"),
        )
        before = await access.audit.entries()

    async with running(hub, clock, data, kept) as access:
        gus = access.members.require("gus")
        assert gus.grants[0].used == 1
        assert access.members.require("olga").revoked
        assert access.members.home_of("otto") == "h2"
        assert await access.audit.entries() == before
        cmd = command("gus", "garage", "action", "open", {}, "api", clock.time(), signed=True)
        assert (await access.gatekeeper.decide(cmd, DEVICES["garage"])).allowed  # the second use
        cmd = command("gus", "garage", "action", "open", {}, "api", clock.time(), signed=True)
        assert not (await access.gatekeeper.decide(cmd, DEVICES["garage"])).allowed  # none left
        result = await access.audit.verify()
        entries = await access.audit.entries()
    chain = [(e.home, e.seq) for e in entries]
    print(f"\naccess on {kept.name} after a restart: {result}; stored (home, seq): {chain}")
    assert result.ok
    assert result.entries == len(before) + 2
    if kept.per_home:  # a chain per home
        assert chain == [("h1", 1), ("h1", 2), ("h1", 3), ("h2", 1)]
    else:  # one chain for the file
        assert chain == [("h1", 1), ("h2", 2), ("h1", 3), ("h1", 4)]
    # on PostgreSQL no access file is made: members, chains, sessions and the secret are there
    assert (data / ACCESS_DB).exists() is (kept.url is None)
    assert (data / TOKEN_KEY).exists() is (kept.url is None)
