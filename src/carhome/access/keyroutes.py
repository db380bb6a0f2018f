"""The keys part of the local API: relay sessions and enrollment, take signed commands.

``key_routes(hub, relay, who=…)`` returns Starlette routes to add to the local app. The hub
only relays here — everything a device accepts is signed or tagged by a phone (or, for
``show-code``, read off a screen) — so these routes hold no secret and decide nothing a
device does not check again:

- ``POST /api/keys/{home}/{device}/session`` (a ``SessionRequest``) → the device's
  ``SessionInfo``, with the hub's clock, the member the hub will record and the device type;
- ``POST …/begin`` → the enrollment challenge (the device shows the code);
- ``POST …/enroll`` (an ``EnrollmentRequest``) → the enrolled key;
- ``GET /api/keys/{home}/{device}`` → the keys enrolled on the device;
- ``POST …/revoke`` (a ``Revocation``) → the disabled key;
- ``GET …/code`` → the code of an open enrollment, for devices whose screen is the hub's
  ("the hub's local screen"): only on loopback, and only to whom ``authorize`` allows;
- ``POST …/delegate/key`` and ``POST …/delegate``: the hub's automation delegate key for a
  device, and its enrollment with the owner's approval (``carhome.access.delegates``);
- ``POST …/pending`` (a ``PendingAsk``: an enrollment request with no approval yet) keeps
  it for an owner on another client; ``GET …/pending`` lists them (owners),
  ``GET …/pending/{id}?wait=s`` long-polls one (its requester or an owner), ``POST
  …/pending/{id}/approve`` (a ``PendingApproval``) relays it with the owner key's signature
  to the device and answers the device's word, ``POST …/pending/{id}/decline`` drops it
  (``carhome.signing.pending``);
- ``POST /api/devices/{home}/{device}/signed-commands``: a command the phone signed, with
  the id, expiry and member it signed (the plain command endpoint makes its own id and
  expiry, which a phone cannot know before it signs).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.access.audit import AuditLog
from carhome.access.delegates import Delegates
from carhome.access.policy import SAFETY_DOMAINS
from carhome.clock import real_time
from carhome.errors import CarhomeError, CommandTimeout, InvalidCommand
from carhome.http.bodies import decode_body, decode_query, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import client_address, is_loopback
from carhome.http.problems import Problem
from carhome.hub import Hub
from carhome.hub.commands import MAX_TTL, Command, Decision
from carhome.signing.enrollment import EnrollmentChallenge, EnrollmentRequest
from carhome.signing.keeper import Revocation, delegate_member
from carhome.signing.keys import EnrolledKey, PublicKey
from carhome.signing.pending import Pending, PendingApproval, PendingAsk, PendingEnrollments, PendingError
from carhome.signing.relay import Begin, Enroll, KeyRefused, KeyRelay, ListKeys, Revoke, Session, unwrap
from carhome.signing.session import SessionRequest
from carhome.wire.keys import (
    Code,
    DelegateKey,
    DelegateKeyRequest,
    DelegateRequest,
    PendingWaitQuery,
    SessionOpened,
    SignedCommand,
)

MAX_WAIT: Final = 60.0
"""The longest a requester's long poll on its pending request is held."""

MAX_BODY: Final = 16 * 1024

Who = Callable[[Request], str]
Authorize = Callable[[str, str], Awaitable[Decision]]
"""(member, home) → whether the member may manage keys (enroll, revoke, read codes)."""
Screen = Callable[[str, str], str | None]
"""(home, device) → the code the device shows, for devices whose screen is the hub's."""


def _pending_problem(exc: PendingError) -> Problem:
    if exc.field == "id":
        return Problem(404, "no-pending", "No such pending request", str(exc), field="id")
    if exc.field is None:
        return Problem(429, "too-many-pending", "Too many pending requests", str(exc))
    return Problem(422, "invalid-body", "Invalid request body", str(exc), field=f"$.{exc.field}")


def _refused(exc: KeyRefused) -> Problem:
    """A device's refusal: its words without its code, which is the ``reason`` field."""
    code = re.escape(exc.reason)
    words = re.sub(rf"^{code}: |\s*\({code}\)|\b{code}(?:[;:]\s*|$)", "", exc.detail).strip(" ;:")
    words = words or exc.reason.replace("_", " ")
    return Problem(
        403, "key-refused", "Refused by the device", f"the device refused: {words}", reason=exc.reason
    )


class KeyRoutes:
    """The handlers over ``hub``, reaching devices through ``relay`` (see ``key_routes``)."""

    def __init__(
        self,
        hub: Hub,
        relay: KeyRelay,
        *,
        who: Who,
        authorize: Authorize | None = None,
        screen: Screen | None = None,
        delegates: Delegates | None = None,
        pending: PendingEnrollments | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.hub = hub
        self.relay = relay
        self.who = who
        self.authorize = authorize
        self.screen = screen
        self.delegates = delegates
        self.waiting = pending if pending is not None else PendingEnrollments(real_time(hub.clock))
        self.audit = audit

    async def audited(self, view: Pending, member: str, what: str, *, ok: bool, why: str) -> None:
        if self.audit is not None:
            await self.audit.record(
                home=view.home,
                member=member,
                face="api",
                command=view.id,
                device=view.device,
                target=what,
                decision=Decision(ok, why),
            )

    def where(self, request: Request) -> tuple[str, str]:
        home, device = request.path_params["home"], request.path_params["device"]
        self.hub.device(home, device)  # UnknownDevice: a 404
        return home, device

    def keyed(self, request: Request) -> tuple[str, str]:
        """The path's device, a 404 unless it holds keys: only a device with a safety-critical
        action verifies signatures, and asking another would only wait for its silence."""
        home, device = self.where(request)
        if not any(a.domain in SAFETY_DOMAINS for a in self.hub.spec(home, device).actions.values()):
            raise Problem(
                404,
                "no-keys",
                "No keys on this device",
                f"{home}/{device} has no safety-critical action, so it takes no signed commands and"
                f" holds no keys; keys live on devices of the domains {', '.join(SAFETY_DOMAINS)}",
                home=home,
                device=device,
            )
        return home, device

    async def admin(self, request: Request, home: str) -> str:
        member = self.who(request)
        if self.authorize is not None:
            decision = await self.authorize(member, home)
            if not decision.allowed:
                raise Problem(403, "forbidden", "Forbidden", decision.reason, member=member)
        return member

    async def relayed(self, home: str, device: str, op: Any) -> Any:
        try:
            return unwrap(await self.relay.ask(home, device, op))
        except KeyRefused as exc:
            raise _refused(exc) from None

    async def session(self, request: Request) -> Response:
        home, device = self.keyed(request)
        member = self.who(request)
        asked = await decode_body(request, SessionRequest, limit=MAX_BODY)
        reply = await self.relayed(home, device, Session(asked))
        kind = self.hub.device(home, device).type
        return json_response(
            SessionOpened(info=reply.info, now=self.hub.clock.time(), member=member, type=kind)
        )

    async def begin(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        return json_response((await self.relayed(home, device, Begin())).challenge)

    async def enroll(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        asked = await decode_body(request, EnrollmentRequest, limit=MAX_BODY)
        return json_response((await self.relayed(home, device, Enroll(asked))).key)

    async def listing(self, request: Request) -> Response:
        home, device = self.keyed(request)
        self.who(request)
        return json_response((await self.relayed(home, device, ListKeys())).keys)

    async def revoke(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        asked = await decode_body(request, Revocation, limit=MAX_BODY)
        return json_response((await self.relayed(home, device, Revoke(asked))).key)

    async def code(self, request: Request) -> Response:
        home, device = self.keyed(request)
        # where the request comes from, behind a trusted reverse proxy too (``client_address``)
        if not is_loopback(client_address(request)):
            raise Problem(403, "not-local", "Local only", "the hub's screen is read on the hub's own machine")
        await self.admin(request, home)
        shown = self.screen(home, device) if self.screen is not None else None
        if not shown:
            raise Problem(
                404,
                "no-code",
                "No code",
                f"{home}/{device} shows no enrollment code here; begin an enrollment first,"
                " or read the code on the device's own screen",
            )
        return json_response(Code(shown))

    def need_delegates(self) -> Delegates:
        if self.delegates is None:
            raise Problem(501, "no-delegates", "Not configured", "this hub holds no automation delegate keys")
        return self.delegates

    async def delegate_key(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        asked = await decode_body(request, DelegateKeyRequest, limit=MAX_BODY)
        keys = self.need_delegates()
        try:
            member = delegate_member(asked.domains)
        except ValueError as exc:
            raise Problem(422, "invalid-body", "Invalid body", str(exc)) from None
        key = await keys.key(home, device)  # made on first use: durable when it returns
        return json_response(DelegateKey(key.public.point, member))

    async def delegate(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        asked = await decode_body(request, DelegateRequest, limit=MAX_BODY)
        keys = self.need_delegates()
        try:
            enrollment = await keys.request(  # the key may be made here: durable when it returns
                home,
                device,
                asked.challenge,
                domains=asked.domains,
                code=asked.code,
                approver=PublicKey(asked.approver),
                approval=asked.approval,
            )
        except (CarhomeError, ValueError) as exc:
            raise Problem(422, "invalid-body", "Invalid body", str(exc)) from None
        enrolled = (await self.relayed(home, device, Enroll(enrollment))).key
        await keys.pin(home, device, asked.challenge.device_key, enrollment.member)
        return json_response(enrolled)

    def request_id(self, request: Request) -> str:
        return str(request.path_params["id"])

    async def ask_pending(self, request: Request) -> Response:
        home, device = self.keyed(request)
        member = self.who(request)
        asked = await decode_body(request, PendingAsk, limit=MAX_BODY)
        if asked.member != member:
            try:
                await self.admin(request, home)
            except Problem:
                raise Problem(
                    403,
                    "wrong-member",
                    "Asked for another member",
                    f"{member!r} may ask to enroll a key for themselves only, not for {asked.member!r};"
                    " an owner may ask for anyone",
                    field="$.member",
                ) from None
        try:
            made = self.waiting.add(home, device, asked, asked_by=member)
        except PendingError as exc:
            raise _pending_problem(exc) from None
        why = f"{asked.member} asks to enroll key {made.key_id.hex()[:12]} as {asked.role}"
        await self.audited(made, member, "enroll:request", ok=True, why=why)
        return json_response(made, 202)

    async def list_pending(self, request: Request) -> Response:
        home, device = self.keyed(request)
        await self.admin(request, home)
        return json_response(self.waiting.waiting(home, device))

    async def one_pending(self, request: Request) -> Response:
        home, device = self.keyed(request)
        member = self.who(request)
        query = decode_query(request, PendingWaitQuery)
        found = self.waiting.get(home, device, self.request_id(request))
        if found is None:
            raise _pending_problem(
                PendingError(f"no request {self.request_id(request)!r} on {home}/{device}", "id")
            )
        if found.asked_by != member:
            await self.admin(request, home)
        settled = await self.waiting.wait(home, device, found.id, query.wait) or found
        return json_response(settled)

    async def approve_pending(self, request: Request) -> Response:
        home, device = self.keyed(request)
        member = await self.admin(request, home)
        asked = await decode_body(request, PendingApproval, limit=MAX_BODY)
        rid = self.request_id(request)
        try:
            full = self.waiting.approved(home, device, rid, asked)
        except PendingError as exc:
            raise _pending_problem(exc) from None
        try:
            reply = unwrap(await self.relay.ask(home, device, Enroll(full)))
        except KeyRefused as exc:
            view = self.waiting.settle(
                home, device, rid, "refused", by=member, reason=exc.reason, anyway=True
            )
            await self.audited(
                view, member, "enroll:approve", ok=False, why=f"refused by the device: {exc.reason}"
            )
            raise _refused(exc) from None
        # the device's word stands even if the request expired here while it answered
        settled = self.waiting.settle(home, device, rid, "enrolled", by=member, key=reply.key, anyway=True)
        why = f"approved key {settled.key_id.hex()[:12]} for {settled.member} as {settled.role}"
        await self.audited(settled, member, "enroll:approve", ok=True, why=why)
        return json_response(settled)

    async def decline_pending(self, request: Request) -> Response:
        home, device = self.keyed(request)
        member = await self.admin(request, home)
        rid = self.request_id(request)
        try:
            settled = self.waiting.settle(home, device, rid, "declined", by=member, reason="declined")
        except PendingError as exc:
            raise _pending_problem(exc) from None
        why = f"declined key {settled.key_id.hex()[:12]} for {settled.member}"
        await self.audited(settled, member, "enroll:decline", ok=False, why=why)
        return json_response(settled)

    async def signed(self, request: Request) -> Response:
        home, device = self.where(request)
        member = self.who(request)
        asked: SignedCommand = await decode_body(request, SignedCommand, limit=MAX_BODY)
        if asked.member != member:
            raise Problem(
                403,
                "wrong-member",
                "Signed for another member",
                f"the command was signed for {asked.member!r}, but this request acts for {member!r}",
            )
        now = self.hub.clock.time()
        if not now < asked.expires <= now + MAX_TTL:
            raise Problem(422, "invalid-body", "Invalid body", "expires must lie ahead, within a day")
        if self.hub.commands.get(asked.id) is not None:
            raise Problem(409, "duplicate-id", "Duplicate command id", f"command {asked.id} exists already")
        made = self.hub.commands.make(
            home=home,
            device=device,
            kind=asked.kind,
            target=asked.target,
            args=asked.args,
            member=member,
            face="api",
            ttl=max(asked.expires - now, 1e-3),
        )
        if made.args != asked.args:
            raise InvalidCommand(
                device=device,
                target=asked.target,
                reason="arguments must be signed as the device's spec normalises them",
                allowed=msgspec.json.encode(made.args).decode(),
            )
        command = msgspec.structs.replace(made, id=asked.id, expires=asked.expires, signature=asked.signature)
        command = await self.hub.commands.submit(command)
        if asked.wait:
            command = await _wait(self.hub, command, asked.wait)
        return json_response(command, 200 if command.status.final else 202)


_KEY_PROBLEMS: Final = (403, 404, 503)
_BASE: Final = "/api/keys/{home}/{device}"

OPERATIONS: Final[tuple[Operation[KeyRoutes], ...]] = (
    Operation(
        "POST",
        f"{_BASE}/session",
        KeyRoutes.session,
        "Open a signing session with a device",
        "keys",
        {200: SessionOpened},
        body=SessionRequest,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        f"{_BASE}/begin",
        KeyRoutes.begin,
        "Begin enrolling a key (the device shows a code)",
        "keys",
        {200: EnrollmentChallenge},
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        f"{_BASE}/enroll",
        KeyRoutes.enroll,
        "Enroll a key",
        "keys",
        {200: EnrolledKey},
        body=EnrollmentRequest,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "GET",
        _BASE,
        KeyRoutes.listing,
        "The keys enrolled on a device",
        "keys",
        {200: list[EnrolledKey]},
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        f"{_BASE}/revoke",
        KeyRoutes.revoke,
        "Disable a key on a device",
        "keys",
        {200: EnrolledKey},
        body=Revocation,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "GET",
        f"{_BASE}/code",
        KeyRoutes.code,
        "The open enrollment's code (the hub's screen, loopback)",
        "keys",
        {200: Code},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        f"{_BASE}/delegate/key",
        KeyRoutes.delegate_key,
        "The hub's automation delegate key for a device",
        "keys",
        {200: DelegateKey},
        body=DelegateKeyRequest,
        problems=(403, 404, 501),
    ),
    Operation(
        "POST",
        f"{_BASE}/delegate",
        KeyRoutes.delegate,
        "Enroll the delegate key with the owner's approval",
        "keys",
        {200: EnrolledKey},
        body=DelegateRequest,
        problems=(403, 404, 501, 503),
    ),
    Operation(
        "POST",
        f"{_BASE}/pending",
        KeyRoutes.ask_pending,
        "Ask for an owner's approval of a new key (another client approves)",
        "keys",
        {202: Pending},
        body=PendingAsk,
        problems=(403, 404, 429),
    ),
    Operation(
        "GET",
        f"{_BASE}/pending",
        KeyRoutes.list_pending,
        "The enrollment requests waiting for an owner's approval",
        "keys",
        {200: list[Pending]},
        problems=(403, 404),
    ),
    Operation(
        "GET",
        f"{_BASE}/pending/{{id}}",
        KeyRoutes.one_pending,
        "One enrollment request (long poll with wait for its outcome)",
        "keys",
        {200: Pending},
        query=PendingWaitQuery,
        problems=(403, 404),
    ),
    Operation(
        "POST",
        f"{_BASE}/pending/{{id}}/approve",
        KeyRoutes.approve_pending,
        "Approve a waiting request with the owner key's signature (the device decides)",
        "keys",
        {200: Pending},
        body=PendingApproval,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        f"{_BASE}/pending/{{id}}/decline",
        KeyRoutes.decline_pending,
        "Decline a waiting enrollment request",
        "keys",
        {200: Pending},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/devices/{home}/{device}/signed-commands",
        KeyRoutes.signed,
        "Send a command a phone signed",
        "keys",
        {200: Command, 202: Command},
        body=SignedCommand,
        problems=(403, 404, 409, 503),
    ),
)


def key_routes(
    hub: Hub,
    relay: KeyRelay,
    *,
    who: Who,
    authorize: Authorize | None = None,
    screen: Screen | None = None,
    delegates: Delegates | None = None,
    pending: PendingEnrollments | None = None,
    audit: AuditLog | None = None,
) -> list[BaseRoute]:
    """The routes over ``hub``, reaching devices through ``relay`` (the MQTT connector).

    ``pending`` holds enrollment requests waiting for an owner (a fresh in-memory list on
    the hub's clock if not given); ``audit`` records requests, approvals and declines.
    """
    handlers = KeyRoutes(
        hub,
        relay,
        who=who,
        authorize=authorize,
        screen=screen,
        delegates=delegates,
        pending=pending,
        audit=audit,
    )
    return routes(OPERATIONS, handlers)


async def _wait(hub: Hub, command: Command, seconds: float) -> Command:
    try:
        return await hub.commands.wait(command.id, seconds)
    except CommandTimeout:
        return command
