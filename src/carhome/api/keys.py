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
  (``carhome.access.pending``);
- ``POST /api/devices/{home}/{device}/signed-commands``: a command the phone signed, with
  the id, expiry and member it signed (the plain command endpoint makes its own id and
  expiry, which a phone cannot know before it signs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from carhome.access.audit import AuditLog
from carhome.access.delegates import Delegates
from carhome.access.enrollment import EnrollmentChallenge, EnrollmentRequest
from carhome.access.keeper import Revocation, delegate_member
from carhome.access.keys import PublicKey
from carhome.access.pending import Pending, PendingApproval, PendingAsk, PendingEnrollments, PendingError
from carhome.access.policy import SAFETY_DOMAINS
from carhome.access.relay import Begin, Enroll, KeyRefused, KeyRelay, ListKeys, Revoke, Session, unwrap
from carhome.access.session import SessionInfo, SessionRequest
from carhome.api.auth import client_address
from carhome.api.bodies import decode_body, decode_query, json_response
from carhome.api.problems import Problem
from carhome.api.server import is_loopback
from carhome.errors import CarhomeError, CommandTimeout, InvalidCommand
from carhome.hub import Hub
from carhome.hub.commands import MAX_TTL, Command, Decision

MAX_WAIT: Final = 60.0
"""The longest a requester's long poll on its pending request is held."""

MAX_BODY: Final = 16 * 1024

Who = Callable[[Request], str]
Authorize = Callable[[str, str], Awaitable[Decision]]
"""(member, home) → whether the member may manage keys (enroll, revoke, read codes)."""
Screen = Callable[[str, str], str | None]
"""(home, device) → the code the device shows, for devices whose screen is the hub's."""


class SessionOpened(msgspec.Struct, frozen=True):
    """The device's answer to a session request, and what the phone needs besides to sign."""

    info: SessionInfo
    now: float
    member: str
    type: str


class Code(msgspec.Struct, frozen=True):
    code: str


class DelegateKeyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    domains: tuple[str, ...]


class DelegateKey(msgspec.Struct, frozen=True):
    point: bytes
    member: str


class DelegateRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The owner's approval of the hub's delegate key, with the code read off the device."""

    domains: tuple[str, ...]
    challenge: EnrollmentChallenge
    code: str
    approver: bytes
    approval: bytes


class SignedCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/devices/{home}/{device}/signed-commands``."""

    id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    kind: Literal["set", "action"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    expires: float
    member: str
    signature: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    wait: Annotated[float, msgspec.Meta(ge=0, le=300)] | None = None


class PendingWaitQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] = 0.0


def _pending_problem(exc: PendingError) -> Problem:
    if exc.field == "id":
        return Problem(404, "no-pending", "No such pending request", str(exc), field="id")
    if exc.field is None:
        return Problem(429, "too-many-pending", "Too many pending requests", str(exc))
    return Problem(422, "invalid-body", "Invalid request body", str(exc), field=f"$.{exc.field}")


def _refused(exc: KeyRefused) -> Problem:
    return Problem(403, "key-refused", "Refused by the device", str(exc), reason=exc.reason)


def key_routes(  # noqa: PLR0915 - one closure per route, as automation_routes
    hub: Hub,
    relay: KeyRelay,
    *,
    who: Who,
    authorize: Authorize | None = None,
    screen: Screen | None = None,
    delegates: Delegates | None = None,
    pending: PendingEnrollments | None = None,
    audit: AuditLog | None = None,
) -> list[Route]:
    """The routes over ``hub``, reaching devices through ``relay`` (the MQTT connector).

    ``pending`` holds enrollment requests waiting for an owner (a fresh in-memory list on
    the hub's clock if not given); ``audit`` records requests, approvals and declines.
    """
    waiting = pending if pending is not None else PendingEnrollments(hub.clock)

    async def audited(view: Pending, member: str, what: str, *, ok: bool, why: str) -> None:
        if audit is not None:
            await audit.record(
                home=view.home,
                member=member,
                face="api",
                command=view.id,
                device=view.device,
                target=what,
                decision=Decision(ok, why),
            )

    def where(request: Request) -> tuple[str, str]:
        home, device = request.path_params["home"], request.path_params["device"]
        hub.device(home, device)  # UnknownDevice: a 404
        return home, device

    def keyed(request: Request) -> tuple[str, str]:
        """The path's device, a 404 unless it holds keys: only a device with a safety-critical
        action verifies signatures, and asking another would only wait for its silence."""
        home, device = where(request)
        if not any(a.domain in SAFETY_DOMAINS for a in hub.spec(home, device).actions.values()):
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

    async def admin(request: Request, home: str) -> str:
        member = who(request)
        if authorize is not None:
            decision = await authorize(member, home)
            if not decision.allowed:
                raise Problem(403, "forbidden", "Forbidden", decision.reason, member=member)
        return member

    async def relayed(home: str, device: str, op: Any) -> Any:
        try:
            return unwrap(await relay.ask(home, device, op))
        except KeyRefused as exc:
            raise _refused(exc) from None

    async def session(request: Request) -> Response:
        home, device = keyed(request)
        member = who(request)
        asked = await decode_body(request, SessionRequest, limit=MAX_BODY)
        reply = await relayed(home, device, Session(asked))
        kind = hub.device(home, device).type
        return json_response(SessionOpened(info=reply.info, now=hub.clock.time(), member=member, type=kind))

    async def begin(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        return json_response((await relayed(home, device, Begin())).challenge)

    async def enroll(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        asked = await decode_body(request, EnrollmentRequest, limit=MAX_BODY)
        return json_response((await relayed(home, device, Enroll(asked))).key)

    async def listing(request: Request) -> Response:
        home, device = keyed(request)
        who(request)
        return json_response((await relayed(home, device, ListKeys())).keys)

    async def revoke(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        asked = await decode_body(request, Revocation, limit=MAX_BODY)
        return json_response((await relayed(home, device, Revoke(asked))).key)

    async def code(request: Request) -> Response:
        home, device = keyed(request)
        # where the request comes from, behind a trusted reverse proxy too (``client_address``)
        if not is_loopback(client_address(request)):
            raise Problem(403, "not-local", "Local only", "the hub's screen is read on the hub's own machine")
        await admin(request, home)
        shown = screen(home, device) if screen is not None else None
        if not shown:
            raise Problem(
                404,
                "no-code",
                "No code",
                f"{home}/{device} shows no enrollment code here; begin an enrollment first,"
                " or read the code on the device's own screen",
            )
        return json_response(Code(shown))

    def need_delegates() -> Delegates:
        if delegates is None:
            raise Problem(501, "no-delegates", "Not configured", "this hub holds no automation delegate keys")
        return delegates

    async def delegate_key(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        asked = await decode_body(request, DelegateKeyRequest, limit=MAX_BODY)
        keys = need_delegates()
        try:
            member = delegate_member(asked.domains)
        except ValueError as exc:
            raise Problem(422, "invalid-body", "Invalid body", str(exc)) from None
        return json_response(DelegateKey(keys.key(home, device).public.point, member))

    async def delegate(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        asked = await decode_body(request, DelegateRequest, limit=MAX_BODY)
        keys = need_delegates()
        try:
            enrollment = keys.request(
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
        enrolled = (await relayed(home, device, Enroll(enrollment))).key
        keys.pin(home, device, asked.challenge.device_key, enrollment.member)
        return json_response(enrolled)

    def request_id(request: Request) -> str:
        return str(request.path_params["id"])

    async def ask_pending(request: Request) -> Response:
        home, device = keyed(request)
        member = who(request)
        asked = await decode_body(request, PendingAsk, limit=MAX_BODY)
        if asked.member != member:
            try:
                await admin(request, home)
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
            made = waiting.add(home, device, asked, asked_by=member)
        except PendingError as exc:
            raise _pending_problem(exc) from None
        why = f"{asked.member} asks to enroll key {made.key_id.hex()[:12]} as {asked.role}"
        await audited(made, member, "enroll:request", ok=True, why=why)
        return json_response(made, 202)

    async def list_pending(request: Request) -> Response:
        home, device = keyed(request)
        await admin(request, home)
        return json_response(waiting.waiting(home, device))

    async def one_pending(request: Request) -> Response:
        home, device = keyed(request)
        member = who(request)
        query = decode_query(request, PendingWaitQuery)
        found = waiting.get(home, device, request_id(request))
        if found is None:
            raise _pending_problem(
                PendingError(f"no request {request_id(request)!r} on {home}/{device}", "id")
            )
        if found.asked_by != member:
            await admin(request, home)
        settled = await waiting.wait(home, device, found.id, query.wait) or found
        return json_response(settled)

    async def approve_pending(request: Request) -> Response:
        home, device = keyed(request)
        member = await admin(request, home)
        asked = await decode_body(request, PendingApproval, limit=MAX_BODY)
        rid = request_id(request)
        try:
            full = waiting.approved(home, device, rid, asked)
        except PendingError as exc:
            raise _pending_problem(exc) from None
        try:
            reply = unwrap(await relay.ask(home, device, Enroll(full)))
        except KeyRefused as exc:
            view = waiting.settle(home, device, rid, "refused", by=member, reason=exc.reason, anyway=True)
            await audited(
                view, member, "enroll:approve", ok=False, why=f"refused by the device: {exc.reason}"
            )
            raise _refused(exc) from None
        # the device's word stands even if the request expired here while it answered
        settled = waiting.settle(home, device, rid, "enrolled", by=member, key=reply.key, anyway=True)
        why = f"approved key {settled.key_id.hex()[:12]} for {settled.member} as {settled.role}"
        await audited(settled, member, "enroll:approve", ok=True, why=why)
        return json_response(settled)

    async def decline_pending(request: Request) -> Response:
        home, device = keyed(request)
        member = await admin(request, home)
        rid = request_id(request)
        try:
            settled = waiting.settle(home, device, rid, "declined", by=member, reason="declined")
        except PendingError as exc:
            raise _pending_problem(exc) from None
        why = f"declined key {settled.key_id.hex()[:12]} for {settled.member}"
        await audited(settled, member, "enroll:decline", ok=False, why=why)
        return json_response(settled)

    async def signed(request: Request) -> Response:
        home, device = where(request)
        member = who(request)
        asked: SignedCommand = await decode_body(request, SignedCommand, limit=MAX_BODY)
        if asked.member != member:
            raise Problem(
                403,
                "wrong-member",
                "Signed for another member",
                f"the command was signed for {asked.member!r}, but this request acts for {member!r}",
            )
        now = hub.clock.time()
        if not now < asked.expires <= now + MAX_TTL:
            raise Problem(422, "invalid-body", "Invalid body", "expires must lie ahead, within a day")
        if hub.commands.get(asked.id) is not None:
            raise Problem(409, "duplicate-id", "Duplicate command id", f"command {asked.id} exists already")
        made = hub.commands.make(
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
        command = await hub.commands.submit(command)
        if asked.wait:
            command = await _wait(hub, command, asked.wait)
        return json_response(command, 200 if command.status.final else 202)

    base = "/api/keys/{home}/{device}"
    return [
        Route(f"{base}/session", session, methods=["POST"]),
        Route(f"{base}/begin", begin, methods=["POST"]),
        Route(f"{base}/enroll", enroll, methods=["POST"]),
        Route(base, listing, methods=["GET"]),
        Route(f"{base}/revoke", revoke, methods=["POST"]),
        Route(f"{base}/code", code, methods=["GET"]),
        Route(f"{base}/delegate/key", delegate_key, methods=["POST"]),
        Route(f"{base}/delegate", delegate, methods=["POST"]),
        Route(f"{base}/pending", ask_pending, methods=["POST"]),
        Route(f"{base}/pending", list_pending, methods=["GET"]),
        Route(f"{base}/pending/{{id}}", one_pending, methods=["GET"]),
        Route(f"{base}/pending/{{id}}/approve", approve_pending, methods=["POST"]),
        Route(f"{base}/pending/{{id}}/decline", decline_pending, methods=["POST"]),
        Route("/api/devices/{home}/{device}/signed-commands", signed, methods=["POST"]),
    ]


async def _wait(hub: Hub, command: Command, seconds: float) -> Command:
    try:
        return await hub.commands.wait(command.id, seconds)
    except CommandTimeout:
        return command
