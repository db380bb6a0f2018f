"""Members of a home: who they are, their role, a guest's grants, and revocation.

A member belongs to one home and holds one ``Role`` (``carhome.wire.members.Role``, shared
with the signing keys). A guest holds ``Grant``s: which devices, which targets (action or
property names), from when until when, and optionally how many uses; a guest *sees* only
the devices their live grants name, and a location only where a grant names it
(``Member.sees``). ``Members`` is the registry the gatekeeper, the login path and the
API's read scoping read; every change is written through a ``MemberStore`` (memory, or
table ``access_members`` of ``access.db``, ``carhome.access.database``) and awaited: a
change is on disk when its call returns, and the disk is written on the database's own
thread, never on the event loop. A change is made in memory at once, before its call first
waits, so a decision and the grant use it counts are one step; if the write fails, the
change is undone and the error raised. Revoking a member is final for the member's
sessions: listeners hear it once it is on disk, so faces can close live connections.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Final, Protocol, Self

import msgspec

from carhome.errors import CarhomeError
from carhome.hub.model import check_name
from carhome.parts.access import LOCATION
from carhome.spec import vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE
from carhome.sqlitefile import SqliteFile, decoded
from carhome.wire.members import Grant as GrantFields
from carhome.wire.members import Role

log: Final = logging.getLogger(__name__)

ANY_TARGET: Final = "*"
"""A grant target that covers every ordinary action and property of its devices; it never
covers a safety-critical action, which a grant must name."""

_LOCATION_BRANCH: Final = vss.LATITUDE.rpartition(".")[0] + "."
_LOCATION_PROPERTIES: Final = frozenset({"latitude", "longitude", PLACE, DISTANCE_TO_HOME})


def is_location(prop: str) -> bool:
    """Whether ``prop`` tells where a device is (``LOCATION`` itself, the VSS
    ``Vehicle.CurrentLocation`` branch, a phone's latitude and longitude, and what the hub
    derives from them: the car's place and its distance to home)."""
    return prop == LOCATION or prop.startswith(_LOCATION_BRANCH) or prop in _LOCATION_PROPERTIES


class MemberError(CarhomeError):
    """A member or grant operation cannot be done (unknown member, duplicate id, bad grant)."""

    def __init__(self, message: str, *, member: str | None = None) -> None:
        super().__init__(message)
        self.member = member


class Grant(GrantFields, frozen=True, forbid_unknown_fields=True):
    """What a guest may do: ``targets`` on ``devices`` in ``[starts, ends)``, ``uses`` times
    (the wire's fields, ``carhome.wire.members.Grant``, checked when made, and the policy's
    questions)."""

    def __post_init__(self) -> None:
        if not self.devices or not self.targets:
            raise MemberError(f"grant {self.id!r} names no device or no target")
        if self.ends <= self.starts:
            raise MemberError(f"grant {self.id!r} ends before it starts")
        if self.uses is not None and self.uses < 1:
            raise MemberError(f"grant {self.id!r}: uses must be at least 1 when given")

    def names(self, device: str, target: str) -> bool:
        """True if the grant names ``target`` on ``device`` explicitly (not by ``*``)."""
        return device in self.devices and target in self.targets

    def covers(self, device: str, target: str, *, critical: bool) -> bool:
        if device not in self.devices:
            return False
        return target in self.targets or (not critical and ANY_TARGET in self.targets)

    def live(self, now: float) -> bool:
        return self.starts <= now < self.ends and (self.uses is None or self.used < self.uses)

    def shows(self, device: str, prop: str | None = None) -> bool:
        """Whether the grant lets its holder read ``device`` (and ``prop`` of it): any
        property but a location, which the grant must name."""
        if device not in self.devices:
            return False
        return prop is None or not is_location(prop) or LOCATION in self.targets or prop in self.targets


class Member(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A person in a home. ``password`` is an argon2 hash (``carhome.access.passwords``)."""

    id: str
    home: str
    name: str
    role: Role
    revoked: bool = False
    password: str | None = None
    grants: tuple[Grant, ...] = ()

    def __post_init__(self) -> None:
        check_name("member", self.id)
        check_name("home", self.home)
        if self.grants and self.role is not Role.GUEST:
            raise MemberError(f"{self.id} is {self.role}: only guests hold grants", member=self.id)

    def sees(self, device: str, now: float, prop: str | None = None) -> bool:
        """Whether the member may read ``device`` of their home (and ``prop`` of it) at
        ``now``: owners and family everything, a guest what a live grant shows."""
        if self.revoked:
            return False
        if self.role is not Role.GUEST:
            return True
        return any(g.live(now) and g.shows(device, prop) for g in self.grants)


class MemberStore(Protocol):
    """Where members are kept. ``save`` replaces the member's whole record; on return it is
    kept (on disk, for a store with a file)."""

    async def load(self) -> list[Member]: ...

    async def save(self, member: Member) -> None: ...


class MemoryMemberStore:
    def __init__(self) -> None:
        self._rows: dict[str, bytes] = {}

    async def load(self) -> list[Member]:
        return [msgspec.json.decode(row, type=Member) for row in self._rows.values()]

    async def save(self, member: Member) -> None:
        self._rows[member.id] = msgspec.json.encode(member)


_decode_member: Final = msgspec.json.Decoder(Member).decode


class SqliteMemberStore:
    """Members in table ``access_members`` of the access database (``carhome.access.database``),
    which its owner opens and closes."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def load(self) -> list[Member]:
        def read(conn: sqlite3.Connection) -> list[bytes]:
            return [row[0] for row in conn.execute("SELECT data FROM access_members ORDER BY id")]

        rows = await self._file.read("reading the members", read)
        return decoded(
            rows, _decode_member, self._file.path, "member record", "restore the file from a backup"
        )

    async def save(self, member: Member) -> None:
        row = (member.id, member.home, msgspec.json.encode(member))
        await self._file.write(
            "saving a member",
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO access_members (id, home, data) VALUES (?, ?, ?)", row
            ),
        )


RevocationListener = Callable[[Member], None]


class Members:
    """The registry of members, written through to its store (``Members.load`` reads it)."""

    def __init__(self, store: MemberStore | None = None, members: Iterable[Member] = ()) -> None:
        self._store: MemberStore = store or MemoryMemberStore()
        self._members: dict[str, Member] = {m.id: m for m in members}
        self._listeners: list[RevocationListener] = []

    @classmethod
    async def load(cls, store: MemberStore) -> Self:
        """The registry of the members ``store`` keeps."""
        return cls(store, await store.load())

    def __iter__(self) -> Iterator[Member]:
        return iter(tuple(self._members.values()))

    def get(self, member_id: str) -> Member | None:
        return self._members.get(member_id)

    def home_of(self, member_id: str) -> str | None:
        """The home of a member, or None for no such member (``carhome.automations.MemberHomes``)."""
        member = self._members.get(member_id)
        return None if member is None else member.home

    def require(self, member_id: str) -> Member:
        member = self._members.get(member_id)
        if member is None:
            raise MemberError(f"no member {member_id!r}; see `carhome members list`", member=member_id)
        return member

    async def add(self, member: Member) -> Member:
        if member.id in self._members:
            raise MemberError(f"member {member.id!r} exists already", member=member.id)
        await self._put(member)
        return member

    async def set_password(self, member_id: str, password_hash: str) -> None:
        await self._put(msgspec.structs.replace(self.require(member_id), password=password_hash))

    async def grant(self, member_id: str, grant: Grant) -> None:
        member = self.require(member_id)
        if any(g.id == grant.id for g in member.grants):
            raise MemberError(f"{member_id} holds a grant {grant.id!r} already", member=member_id)
        await self._put(msgspec.structs.replace(member, grants=(*member.grants, grant)))

    async def change_grant(self, member_id: str, grant: Grant) -> None:
        """Put ``grant`` in the place of the member's grant of the same id, in one change."""
        member = self.require(member_id)
        if not any(g.id == grant.id for g in member.grants):
            raise MemberError(f"{member_id} holds no grant {grant.id!r}", member=member_id)
        grants = tuple(grant if g.id == grant.id else g for g in member.grants)
        await self._put(msgspec.structs.replace(member, grants=grants))

    async def withdraw(self, member_id: str, grant_id: str) -> None:
        member = self.require(member_id)
        grants = tuple(g for g in member.grants if g.id != grant_id)
        if len(grants) == len(member.grants):
            raise MemberError(f"{member_id} holds no grant {grant_id!r}", member=member_id)
        await self._put(msgspec.structs.replace(member, grants=grants))

    async def use(self, member_id: str, grant_id: str) -> None:
        """Count one use of a grant (the gatekeeper calls it for each command it allows;
        counted in memory at once, so the next decision sees it)."""
        member = self.require(member_id)
        grants = tuple(
            msgspec.structs.replace(g, used=g.used + 1) if g.id == grant_id else g for g in member.grants
        )
        await self._put(msgspec.structs.replace(member, grants=grants))

    async def revoke(self, member_id: str) -> None:
        """Revoke a member for good and tell every listener (idempotent: told once)."""
        member = self.require(member_id)
        if member.revoked:
            return
        member = msgspec.structs.replace(member, revoked=True)
        await self._put(member)
        for listener in tuple(self._listeners):
            try:
                listener(member)
            except Exception:
                log.exception("member revocation listener failed")

    def on_revoke(self, listener: RevocationListener) -> Callable[[], None]:
        """Call ``listener`` with each member revoked from now on; returns the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def _put(self, member: Member) -> None:
        # In memory before the first wait: a check and the change it leads to are one step.
        previous = self._members.get(member.id)
        self._members[member.id] = member
        try:
            await self._store.save(member)
        except Exception:
            if self._members.get(member.id) is member:  # not changed again since: undo
                if previous is None:
                    del self._members[member.id]
                else:
                    self._members[member.id] = previous
            raise
