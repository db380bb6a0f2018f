"""The OpenAPI 3.1 description of the hub's HTTP API, built from a declaration of its operations.

Every HTTP route the hub serves is one ``Operation`` in ``OPERATIONS``: its method and path,
a summary, the struct of its query and of its body, the struct it answers with per status,
and the problems (RFC 9457, ``application/problem+json``) it may answer with. The schemas
are msgspec's own (``msgspec.json.schema_components``) for the very structs the routes
decode and encode, so the description cannot drift from the wire; nothing here writes a
JSON schema by hand for what a struct already says.

A route cannot be forgotten: ``tests/api_openapi`` walks every route of the full hub app and
fails on one missing here. Adding an operation is one ``Operation(...)`` line in the
section of its module (see ``OPERATIONS``).

The document is served at ``GET /api/openapi.json`` (behind a token like the rest) and
written to ``docs/openapi.json`` by ``carhome openapi``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from carhome.access.enrollment import EnrollmentChallenge, EnrollmentRequest
from carhome.access.keeper import Revocation
from carhome.access.keys import EnrolledKey
from carhome.access.members import Grant
from carhome.access.pending import Pending, PendingApproval, PendingAsk
from carhome.access.session import SessionRequest
from carhome.api import automations, charging, history, keys, members
from carhome.api.auth import LoginRequest, RefreshRequest, Tokens
from carhome.api.live import MAX_FRAME
from carhome.api.schema import (
    CommandList,
    CommandRequest,
    CommandsQuery,
    DeviceDetail,
    DeviceOut,
    DevicesQuery,
    Health,
    HomeOut,
    Rejections,
    WaitQuery,
)
from carhome.hub import Command
from carhome.say.structs import SayRequest, SayResult

VERSION: Final = "3.1.0"
# The API's own version: raised when an operation changes in a way a client notices.
API_VERSION: Final = "1.0.0"
PATH: Final = "/api/openapi.json"
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_PARAM: Final = re.compile(r"{([^}:]+)(?::[^}]+)?}")


class ProblemOut(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every error the API answers with. Besides these four members a
    problem carries structured fields of its kind (``field``, ``reason``, ``allowed``,
    ``device`` …), so the object is open."""

    type: str
    title: str
    status: int
    detail: str


# What each problem status means, the same for every operation.
_PROBLEMS: Final = {
    401: "Not logged in: no, a malformed, an expired or a revoked access token",
    403: "Not allowed for this member",
    404: "No such home, device or record (or not one this member may see)",
    409: "Conflicts with what exists already",
    413: "The request body is too large",
    422: "A query parameter or the body is not valid; the problem names the field",
    429: "Too many attempts; retry after the Retry-After header's seconds",
    501: "Not configured on this hub",
    503: "A part of the hub (store, connector, device) is not reachable now; try again",
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP operation: what it takes and what it answers.

    ``query`` and ``body`` are msgspec structs (each field of ``query`` but those in ``query_except``
    is one query parameter); path parameters are the ``{names}`` of ``path`` (strings). ``responses``
    maps a success status to what its body is (a type msgspec can describe, or None for
    no body). ``problems`` are the error statuses besides 401 (which every operation but
    the ``open`` ones has) and 422 (which every operation with a query or a body has).
    """

    method: str
    path: str
    summary: str
    tag: str
    responses: Mapping[int, Any]
    query: type | None = None
    query_except: tuple[str, ...] = ()
    body: type | None = None
    problems: tuple[int, ...] = ()
    open: bool = False
    description: str = ""
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def problem_statuses(self) -> list[int]:
        statuses = set(self.problems)
        if not self.open:
            statuses.add(401)
        if self.query is not None or self.body is not None or self.path_params:
            statuses.add(422)
        if self.body is not None:
            statuses.add(413)
        return sorted(statuses)


_LOCATION: Final = {"Location": "Where the command's state can be read again"}
_DEVICE_PROBLEMS: Final = (403, 404, 503)
_KEY_PROBLEMS: Final = (403, 404, 503)
_PERIOD: Final = ("period",)  # only the summaries take one

OPERATIONS: Final[tuple[Operation, ...]] = (
    # -- the hub (carhome.api.local) ----------------------------------------------------
    Operation("GET", "/api/health", "Whether the hub runs (no credentials)", "hub", {200: Health}, open=True),
    Operation("GET", PATH, "This description (OpenAPI 3.1)", "hub", {200: dict[str, Any]}),
    Operation("GET", "/api/homes", "The homes this member sees", "hub", {200: list[HomeOut]}),
    Operation(
        "GET",
        "/api/devices",
        "Devices, of one home or all",
        "hub",
        {200: list[DeviceOut]},
        DevicesQuery,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/devices/{home}/{device}",
        "One device: what it is, offers and reports",
        "hub",
        {200: DeviceDetail},
        problems=(404,),
    ),
    Operation(
        "POST",
        "/api/devices/{home}/{device}/commands",
        "Send a command (set a property or run an action)",
        "hub",
        {200: Command, 202: Command},
        body=CommandRequest,
        problems=_DEVICE_PROBLEMS,
        description="200 when the command ended within `wait`, else 202 (it is queued or sent).",
        headers={200: _LOCATION, 202: _LOCATION},
    ),
    Operation(
        "GET",
        "/api/commands",
        "Recent commands, newest first",
        "hub",
        {200: CommandList},
        CommandsQuery,
        problems=(404, 503),
    ),
    Operation(
        "GET",
        "/api/commands/{id}",
        "One command (optionally wait for its result)",
        "hub",
        {200: Command},
        WaitQuery,
        problems=(404, 503),
    ),
    Operation("GET", "/api/rejections", "Reported values the hub rejected", "hub", {200: Rejections}),
    # -- logging in (carhome.api.auth) --------------------------------------------------
    Operation(
        "POST",
        "/api/auth/login",
        "Log in: a member and password for tokens",
        "auth",
        {200: Tokens},
        body=LoginRequest,
        problems=(401, 429),
        open=True,
    ),
    Operation(
        "POST",
        "/api/auth/refresh",
        "Spend a refresh token for new tokens",
        "auth",
        {200: Tokens},
        body=RefreshRequest,
        problems=(401,),
        open=True,
    ),
    Operation("POST", "/api/auth/logout", "End this session", "auth", {204: None}),
    # -- members, grants and the audit log (carhome.api.members) ------------------------
    Operation(
        "GET",
        "/api/members",
        "The home's members",
        "members",
        {200: list[members.MemberOut]},
        problems=(403,),
    ),
    Operation(
        "POST",
        "/api/members",
        "Add a member",
        "members",
        {201: members.MemberOut},
        body=members.NewMember,
        problems=(403,),
    ),
    Operation(
        "POST",
        "/api/members/{member}/revoke",
        "Revoke a member (their tokens stop at once)",
        "members",
        {200: members.MemberOut},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/members/{member}/grants",
        "Grant a guest devices and actions for a time",
        "members",
        {201: Grant},
        body=members.NewGrant,
        problems=(403, 404),
    ),
    Operation(
        "PUT",
        "/api/members/{member}/grants/{grant}",
        "Change a grant in place (its id and uses so far are kept)",
        "members",
        {200: Grant},
        body=members.NewGrant,
        problems=(403, 404),
    ),
    Operation(
        "DELETE",
        "/api/members/{member}/grants/{grant}",
        "Withdraw a grant",
        "members",
        {204: None},
        problems=(403, 404),
    ),
    Operation(
        "GET",
        "/api/audit",
        "The home's audit log and whether its chain is intact",
        "members",
        {200: members.AuditOut},
        members.AuditQuery,
        problems=(403,),
    ),
    # -- charging (carhome.api.charging) ------------------------------------------------
    Operation(
        "GET", "/api/charging", "Every charged car's plan", "charging", {200: list[charging.CarPlanOut]}
    ),
    Operation(
        "POST",
        "/api/charging/{home}/prices",
        "New prices for the home's charged cars",
        "charging",
        {200: charging.PricesOut},
        body=charging.PricesIn,
        problems=(403, 404),
    ),
    Operation(
        "GET",
        "/api/charging/{home}/{car}",
        "One car's charging plan",
        "charging",
        {200: charging.CarPlanOut},
        problems=(404,),
    ),
    Operation(
        "PUT",
        "/api/charging/{home}/{car}",
        "Change a car's mode, target or departure",
        "charging",
        {200: charging.CarPlanOut},
        body=charging.SettingsIn,
        problems=(403, 404),
    ),
    # -- history (carhome.api.history) -------------------------------------------------
    Operation(
        "GET",
        "/api/history/trips",
        "Finished trips",
        "history",
        {200: history.TripList},
        history.HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/charges",
        "Finished charge sessions",
        "history",
        {200: history.ChargeList},
        history.HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/parked",
        "Parked spells and what they lost",
        "history",
        {200: history.ParkedList},
        history.HistoryQuery,
        query_except=_PERIOD,
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/history/summaries",
        "Totals per car and day or month",
        "history",
        {200: history.SummaryList},
        history.HistoryQuery,
        problems=(404,),
    ),
    # -- keys (carhome.api.keys) ----------------------------------------------------------
    Operation(
        "POST",
        "/api/keys/{home}/{device}/session",
        "Open a signing session with a device",
        "keys",
        {200: keys.SessionOpened},
        body=SessionRequest,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/begin",
        "Begin enrolling a key (the device shows a code)",
        "keys",
        {200: EnrollmentChallenge},
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/enroll",
        "Enroll a key",
        "keys",
        {200: EnrolledKey},
        body=EnrollmentRequest,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "GET",
        "/api/keys/{home}/{device}",
        "The keys enrolled on a device",
        "keys",
        {200: list[EnrolledKey]},
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/revoke",
        "Disable a key on a device",
        "keys",
        {200: EnrolledKey},
        body=Revocation,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "GET",
        "/api/keys/{home}/{device}/code",
        "The open enrollment's code (the hub's screen, loopback)",
        "keys",
        {200: keys.Code},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/delegate/key",
        "The hub's automation delegate key for a device",
        "keys",
        {200: keys.DelegateKey},
        body=keys.DelegateKeyRequest,
        problems=(403, 404, 501),
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/delegate",
        "Enroll the delegate key with the owner's approval",
        "keys",
        {200: EnrolledKey},
        body=keys.DelegateRequest,
        problems=(403, 404, 501, 503),
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/pending",
        "Ask for an owner's approval of a new key (another client approves)",
        "keys",
        {202: Pending},
        body=PendingAsk,
        problems=(403, 404, 429),
    ),
    Operation(
        "GET",
        "/api/keys/{home}/{device}/pending",
        "The enrollment requests waiting for an owner's approval",
        "keys",
        {200: list[Pending]},
        problems=(403, 404),
    ),
    Operation(
        "GET",
        "/api/keys/{home}/{device}/pending/{id}",
        "One enrollment request (long poll with wait for its outcome)",
        "keys",
        {200: Pending},
        query=keys.PendingWaitQuery,
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/pending/{id}/approve",
        "Approve a waiting request with the owner key's signature (the device decides)",
        "keys",
        {200: Pending},
        body=PendingApproval,
        problems=_KEY_PROBLEMS,
    ),
    Operation(
        "POST",
        "/api/keys/{home}/{device}/pending/{id}/decline",
        "Decline a waiting enrollment request",
        "keys",
        {200: Pending},
        problems=(403, 404),
    ),
    Operation(
        "POST",
        "/api/devices/{home}/{device}/signed-commands",
        "Send a command a phone signed",
        "keys",
        {200: Command, 202: Command},
        body=keys.SignedCommand,
        problems=(403, 404, 409, 503),
    ),
    # -- automations (carhome.api.automations) -------------------------------------------
    Operation(
        "GET",
        "/api/automations",
        "Loaded automations and their run counts",
        "automations",
        {200: list[automations.AutomationOut]},
    ),
    Operation(
        "POST",
        "/api/automations/check",
        "Check automations in a text (nothing is loaded)",
        "automations",
        {200: automations.CheckResult},
        body=automations.CheckRequest,
    ),
    Operation(
        "GET",
        "/api/automations/{id}/traces",
        "The latest runs of one automation",
        "automations",
        {200: automations.TraceList},
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/automations/{id}",
        "One automation with its YAML text, switch and where it is kept",
        "automations",
        {200: automations.AutomationDetail},
        problems=(404,),
    ),
    Operation(
        "POST",
        "/api/automations",
        "Create an automation from its YAML text (checked against this hub, saved durably)",
        "automations",
        {201: automations.AutomationDetail},
        body=automations.AutomationText,
        problems=(403, 409, 501),
        headers={201: {"Location": "Where the automation can be read again"}},
        description="A refused save is a 422 problem whose `errors` give each line, path and message.",
    ),
    Operation(
        "PUT",
        "/api/automations/{id}",
        "Replace an automation (one from a read-only file is saved as an override)",
        "automations",
        {200: automations.AutomationDetail},
        body=automations.AutomationText,
        problems=(403, 404, 501),
    ),
    Operation(
        "DELETE",
        "/api/automations/{id}",
        "Delete a saved automation (an override's original comes back)",
        "automations",
        {200: automations.Deleted},
        problems=(403, 404, 409, 501),
    ),
    Operation(
        "POST",
        "/api/automations/{id}/enable",
        "Switch an automation on (kept across restarts)",
        "automations",
        {200: automations.AutomationDetail},
        problems=(403, 404, 501),
    ),
    Operation(
        "POST",
        "/api/automations/{id}/disable",
        "Switch an automation off (kept across restarts)",
        "automations",
        {200: automations.AutomationDetail},
        problems=(403, 404, 501),
    ),
    # -- scenes (carhome.api.automations) ------------------------------------------------
    Operation(
        "GET",
        "/api/scenes",
        "The scenes of the home's automation files",
        "scenes",
        {200: list[automations.SceneOut]},
    ),
    Operation(
        "POST",
        "/api/scenes/{id}/apply",
        "Apply a scene as the calling member (each command through the gatekeeper)",
        "scenes",
        {200: automations.SceneApplied},
        problems=(403, 404),
    ),
    # -- words (carhome.api.say) ---------------------------------------------------------
    Operation(
        "POST",
        "/api/say",
        "A request in words, English or Chinese: a command run as the member, or a question answered",
        "say",
        {200: SayResult},
        body=SayRequest,
        problems=(404,),
    ),
)

_DESCRIPTION: Final = f"""\
The HTTP API of a carhome hub: its homes, devices, commands, members, charging, history,
keys and automations.

Authenticate with `POST /api/auth/login` (member and password); send the access token it
returns as `Authorization: Bearer <token>` on every other request, and renew it with
`POST /api/auth/refresh`. Only `/api/health` and the login and refresh routes answer without
one. Every error is an RFC 9457 problem (`application/problem+json`) that names the field.

Live state changes and command results stream over the WebSocket `/api/ws` (not an HTTP
operation, so not listed here): the first frame is `{{"type": "auth", "token": ...}}`, then
`{{"type": "subscribe", "device": ...}}`. The socket ends with its access token (close code
4401, reason `access token expired`) unless the client sends another auth frame with a
renewed token first (answered `{{"type": "renewed", "expires": ...}}`); revocation closes it
with 4401 too. Bad frames get `{{"type": "error", "code": ...}}`; a frame over {MAX_FRAME}
bytes closes it (1009).
"""


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _schemas(ops: tuple[Operation, ...]) -> tuple[dict[type | Any, dict[str, Any]], dict[str, Any]]:
    """The schema of every type the operations use, and the components they refer to."""
    kinds: list[Any] = [ProblemOut]
    for op in ops:
        kinds.extend(t for t in (op.query, op.body) if t is not None)
        kinds.extend(t for t in op.responses.values() if t is not None)
    unique = list(dict.fromkeys(kinds))
    found, components = msgspec.json.schema_components(unique, ref_template=_ref("{name}"))
    return dict(zip(unique, found, strict=True)), components


def _query_parameters(op: Operation, schema: Mapping[str, Any], components: Mapping[str, Any]) -> list[Any]:
    """One query parameter per field of a query struct (its schema is in ``components``).

    An optional field is a parameter left out, never a JSON null, so ``X | None`` is
    described as ``X``.
    """
    name = schema["$ref"].rsplit("/", 1)[-1]
    struct = components[name]
    required = set(struct.get("required", ()))
    return [
        {"name": key, "in": "query", "required": key in required, "schema": _without_null(value)}
        for key, value in struct.get("properties", {}).items()
        if key not in op.query_except
    ]


def _without_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(options) != 1:
        return dict(schema)
    out = {**schema, **options[0]}
    del out["anyOf"]
    if out.get("default", 0) is None:
        del out["default"]
    return out


def _problem(status: int, ref: Mapping[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _PROBLEMS[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}},
    }
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status == 429:
        answer["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return answer


def _operation(op: Operation, schemas: Mapping[Any, Mapping[str, Any]], components: Mapping[str, Any]) -> Any:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in op.path_params
    ]
    if op.query is not None:
        params.extend(_query_parameters(op, schemas[op.query], components))
    responses: dict[str, Any] = {}
    for status, kind in sorted(op.responses.items()):
        answer: dict[str, Any] = {"description": _status_words(status)}
        if kind is not None:
            answer["content"] = {"application/json": {"schema": schemas[kind]}}
        if status in op.headers:
            answer["headers"] = {
                k: {"description": v, "schema": {"type": "string"}} for k, v in op.headers[status].items()
            }
        responses[str(status)] = answer
    for status in op.problem_statuses:
        responses[str(status)] = _problem(status, schemas[ProblemOut])
    out: dict[str, Any] = {
        "operationId": _operation_id(op),
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schemas[op.body]}}}
    out["responses"] = responses
    if op.open:
        out["security"] = []
    return out


def _status_words(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted: not final yet", 204: "Done, no content"}.get(
        status, "OK"
    )


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path.removeprefix("/api/")).replace(".", "_").replace("-", "_")
    return f"{op.method.lower()}_{words.replace('/', '_')}"


def build(ops: tuple[Operation, ...] = OPERATIONS, *, version: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``ops``."""
    schemas, components = _schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas, components)
    return {
        "openapi": VERSION,
        "info": {"title": "carhome hub API", "version": version or API_VERSION, "description": _DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in ops)],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "carhome access token",
                    "description": "The access token of POST /api/auth/login or /api/auth/refresh",
                }
            },
        },
    }


@functools.cache
def document_bytes() -> bytes:
    """The document as served and written (stable key order, one trailing newline)."""
    return msgspec.json.format(msgspec.json.encode(build()), indent=2) + b"\n"


def open_operations() -> set[tuple[str, str]]:
    """(method, path) of the operations that answer without a token."""
    return {(op.method, op.path) for op in OPERATIONS if op.open}
