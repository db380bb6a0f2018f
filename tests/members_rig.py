"""The members of a hub for tests, and how they log in to its API.

``open_access`` opens the access parts of a hub process (``Access.open`` over a directory)
with password hashing cheap enough for tests; ``add_members`` gives it the members most
access tests act as: in home ``h1`` the owner ``olivia``, family ``fred`` and the guest
``gina`` (no grant); in home ``h2`` the owner ``nora``; each with ``PASSWORD``.
``members_access`` is the two together, and the fixture ``access`` opens it for a test
(import it into the test module or conftest that uses it).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from carhome.access.members import Member
from carhome.access.passwords import Passwords
from carhome.access.service import Access
from carhome.testing import FakeClock
from carhome.wire.members import Role

PASSWORD = "correct horse battery"


def open_access(directory: Path, clock: FakeClock) -> AbstractAsyncContextManager[Access]:
    """The access parts kept in ``directory``, hashing passwords at the least cost."""
    return Access.open(directory, clock, passwords=Passwords(time_cost=1, memory_cost=1024))


async def add_members(access: Access) -> None:
    """Olivia, Fred and Gina in ``h1``, Nora in ``h2``."""
    hashed = access.passwords.hash(PASSWORD)
    for member in (
        Member(id="olivia", home="h1", name="Olivia", role=Role.OWNER, password=hashed),
        Member(id="fred", home="h1", name="Fred", role=Role.FAMILY, password=hashed),
        Member(id="gina", home="h1", name="Gina", role=Role.GUEST, password=hashed),
        Member(id="nora", home="h2", name="Nora", role=Role.OWNER, password=hashed),
    ):
        await access.members.add(member)


@contextlib.asynccontextmanager
async def members_access(directory: Path, clock: FakeClock) -> AsyncIterator[Access]:
    """The access parts kept in ``directory`` with the members ``add_members`` gives."""
    async with open_access(directory, clock) as access:
        await add_members(access)
        yield access


@pytest.fixture
async def access(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Access]:
    """The members' access parts, kept in the test's ``data`` directory."""
    async with members_access(tmp_path / "data", clock) as made:
        yield made


async def login(client: httpx.AsyncClient, member: str, password: str = PASSWORD) -> dict[str, Any]:
    """``member`` logged in through ``client``: the API's answer, its tokens."""
    r = await client.post("/api/auth/login", json={"member": member, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The header that carries a login's access token."""
    return {"authorization": f"Bearer {tokens['access_token']}"}
