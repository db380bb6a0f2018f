"""Members, guest grants and the audit log over the API, for the hub that runs.

Reading a home's members and changing them (add, grant, change a grant, withdraw, revoke)
is the administrative operation ``manage_members``: the gatekeeper decides it from the
policy table like any command and records the decision in the audit log. A member may always
read their own record. Revoking a member here takes effect at once: their tokens stop
working and their open WebSockets close (``Tokens`` hears ``Members.revoke``). Passwords
never leave the hub; a member record comes back without its hash.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.access.bearer import Bearer
from carhome.access.members import Grant as PolicyGrant
from carhome.access.members import Member, MemberError
from carhome.access.passwords import WeakPassword
from carhome.access.policy import MANAGE_MEMBERS
from carhome.errors import InvalidName
from carhome.http.bodies import decode_body, decode_query, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import Principal
from carhome.http.problems import Problem
from carhome.wire.members import AuditOut, AuditQuery, Grant, MemberOut, NewGrant, NewMember, Role

if TYPE_CHECKING:
    from carhome.access.service import Access

MAX_BODY: Final = 16 * 1024


def _render(member: Member) -> MemberOut:
    return MemberOut(
        member.id,
        member.home,
        member.name,
        member.role.value,
        member.revoked,
        member.password is not None,
        member.grants,
    )


def _member_error(exc: Exception, field: str | None = None) -> Problem:
    """A refused member change; ``field`` names the body field at fault, so a form can mark it."""
    return Problem(422, "invalid-member", "Invalid member change", str(exc), field=field)


def _grant_field(body: NewGrant) -> str | None:
    """The field of a grant body that ``Grant`` will refuse, checked in its order, if any."""
    if not body.devices:
        return "devices"
    if not body.targets:
        return "targets"
    if body.ends <= body.starts:
        return "ends"
    if body.uses is not None and body.uses < 1:
        return "uses"
    return None


class MemberRoutes:
    """Reading and changing a home's members, grants and audit log."""

    def __init__(self, access: Access) -> None:
        self._access = access
        self._bearer = Bearer(access)

    async def _admin(self, request: Request) -> Principal:
        """The caller, if the policy lets them manage members of their home (else a 403)."""
        principal = self._bearer.principal(request)
        home = principal.home or "-"
        decision = await self._access.gatekeeper.authorize(
            member=principal.member, home=home, face="api", operation=MANAGE_MEMBERS
        )
        if not decision.allowed:
            raise Problem(
                403,
                "not-allowed",
                "Not allowed",
                f"{principal.member} may not manage members: {decision.reason}",
                member=principal.member,
                reason=decision.reason,
            )
        return principal

    def _in_home(self, principal: Principal, member_id: str) -> Member:
        member = self._access.members.get(member_id)
        if member is None or member.home != principal.home:
            raise Problem(404, "unknown-member", "Unknown member", f"there is no member {member_id!r} here")
        return member

    async def list(self, request: Request) -> Response:
        principal = self._bearer.principal(request)
        me = self._access.members.get(principal.member)
        if me is not None and me.role is not Role.OWNER:
            return json_response([_render(me)])
        await self._admin(request)
        members = sorted((m for m in self._access.members if m.home == principal.home), key=lambda m: m.id)
        return json_response([_render(m) for m in members])

    async def add(self, request: Request) -> Response:
        principal = await self._admin(request)
        body: NewMember = await decode_body(request, NewMember, limit=MAX_BODY)
        assert principal.home is not None  # a bearer principal always has its home
        try:
            hashed = self._access.passwords.hash(body.password) if body.password is not None else None
        except WeakPassword as exc:
            raise _member_error(exc, "password") from None
        try:
            member = Member(id=body.id, home=principal.home, name=body.name, role=body.role, password=hashed)
            await self._access.members.add(member)
        except (MemberError, InvalidName) as exc:
            raise _member_error(exc, "id") from None
        return json_response(_render(member), 201)

    async def revoke(self, request: Request) -> Response:
        principal = await self._admin(request)
        member = self._in_home(principal, request.path_params["member"])
        await self._access.members.revoke(member.id)
        return json_response(_render(self._access.members.require(member.id)))

    async def grant(self, request: Request) -> Response:
        principal = await self._admin(request)
        member = self._in_home(principal, request.path_params["member"])
        body: NewGrant = await decode_body(request, NewGrant, limit=MAX_BODY)
        try:
            grant = PolicyGrant(
                f"g-{secrets.token_hex(4)}", body.devices, body.targets, body.starts, body.ends, body.uses
            )
            await self._access.members.grant(member.id, grant)
        except MemberError as exc:
            raise _member_error(exc, _grant_field(body)) from None
        return json_response(grant, 201)

    async def change_grant(self, request: Request) -> Response:
        """Replace a grant's devices, targets, window and uses; it keeps its id and uses so far."""
        principal = await self._admin(request)
        member = self._in_home(principal, request.path_params["member"])
        grant_id = request.path_params["grant"]
        old = next((g for g in member.grants if g.id == grant_id), None)
        if old is None:
            raise Problem(404, "unknown-grant", "Unknown grant", f"{member.id} holds no grant {grant_id!r}")
        body: NewGrant = await decode_body(request, NewGrant, limit=MAX_BODY)
        try:
            # made first, so a refused change leaves the old grant in force
            grant = PolicyGrant(
                grant_id, body.devices, body.targets, body.starts, body.ends, body.uses, old.used
            )
        except MemberError as exc:
            raise _member_error(exc, _grant_field(body)) from None
        await self._access.members.change_grant(member.id, grant)
        return json_response(grant)

    async def withdraw(self, request: Request) -> Response:
        principal = await self._admin(request)
        member = self._in_home(principal, request.path_params["member"])
        try:
            await self._access.members.withdraw(member.id, request.path_params["grant"])
        except MemberError as exc:
            raise Problem(404, "unknown-grant", "Unknown grant", str(exc)) from None
        return Response(status_code=204)

    async def audit(self, request: Request) -> Response:
        principal = await self._admin(request)
        query = decode_query(request, AuditQuery)
        verification = await self._access.audit.verify(principal.home)  # its chain, where homes have one
        entries = await self._access.audit.entries()
        mine = [e for e in entries if e.home == principal.home][-query.limit :]
        return json_response(
            AuditOut(tuple(mine), verification.ok, verification.entries, verification.problem)
        )


OPERATIONS: Final[tuple[Operation[MemberRoutes], ...]] = (
    Operation(
        "GET",
        "/api/members",
        MemberRoutes.list,
        "The home's members",
        "members",
        {200: list[MemberOut]},
        problems=(403,),
    ),
    Operation(
        "POST",
        "/api/members",
        MemberRoutes.add,
        "Add a member",
        "members",
        {201: MemberOut},
        body=NewMember,
        problems=(403,),
    ),
    Operation(
        "POST",
        "/api/members/{member}/revoke",
        MemberRoutes.revoke,
        "Revoke a member (their tokens stop at once)",
        "members",
        {200: MemberOut},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/members/{member}/grants",
        MemberRoutes.grant,
        "Grant a guest devices and actions for a time",
        "members",
        {201: Grant},
        body=NewGrant,
        problems=(403, 404),
    ),
    Operation(
        "PUT",
        "/api/members/{member}/grants/{grant}",
        MemberRoutes.change_grant,
        "Change a grant in place (its id and uses so far are kept)",
        "members",
        {200: Grant},
        body=NewGrant,
        problems=(403, 404),
    ),
    Operation(
        "DELETE",
        "/api/members/{member}/grants/{grant}",
        MemberRoutes.withdraw,
        "Withdraw a grant",
        "members",
        {204: None},
        problems=(403, 404),
    ),
    Operation(
        "GET",
        "/api/audit",
        MemberRoutes.audit,
        "The home's audit log and whether its chain is intact",
        "members",
        {200: AuditOut},
        AuditQuery,
        problems=(403,),
    ),
)


def member_routes(access: Access) -> list[BaseRoute]:
    return routes(OPERATIONS, MemberRoutes(access))
