"""The OpenAPI 3.1 description of the hub's HTTP API, made from the operations' declarations.

Every HTTP route the hub serves is one ``carhome.http.operations.Operation``, declared beside
its handler in the part that serves it; the composition collects them
(``carhome.compose.operations.OPERATIONS``) in the order the description lists them. The
schemas are msgspec's own (``msgspec.json.schema_components``) for the very structs of
``carhome.wire`` the routes decode and encode, so the description cannot drift from the
wire; nothing here writes a JSON schema by hand for what a struct already says.

The document is served at ``GET /api/openapi.json`` (behind a token like the rest) and
written to ``docs/openapi.json`` by ``carhome openapi``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from carhome.api.live import MAX_FRAME
from carhome.http.operations import Operation
from carhome.wire.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from carhome.wire.problems import ProblemOut

VERSION: Final = "3.1.0"
# The API's own version: raised when an operation changes in a way a client notices.
API_VERSION: Final = "1.0.0"

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


_DESCRIPTION: Final = f"""\
The HTTP API of a carhome hub: its homes, devices, commands, members, charging, history,
keys and automations.

Authenticate with `POST /api/auth/login` (member and password); send the access token it
returns as `Authorization: Bearer <token>` on every other request, and renew it with
`POST /api/auth/refresh`. Only `/api/health`, the login and refresh routes and the first
run's `GET /api/setup` and `POST /api/setup/owner` answer without one. Every error is an
RFC 9457 problem (`application/problem+json`) that names the field.

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


def _schemas(ops: tuple[Operation[Any], ...]) -> tuple[dict[type | Any, dict[str, Any]], dict[str, Any]]:
    """The schema of every type the operations use, and the components they refer to."""
    kinds: list[Any] = [ProblemOut]
    for op in ops:
        kinds.extend(t for t in (op.query, op.body) if t is not None)
        kinds.extend(t for t in op.responses.values() if t is not None)
    unique = list(dict.fromkeys(kinds))
    found, components = msgspec.json.schema_components(unique, ref_template=_ref("{name}"))
    return dict(zip(unique, found, strict=True)), components


def _query_parameters(
    op: Operation[Any], schema: Mapping[str, Any], components: Mapping[str, Any]
) -> list[Any]:
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


def _operation(
    op: Operation[Any], schemas: Mapping[Any, Mapping[str, Any]], components: Mapping[str, Any]
) -> Any:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in op.path_params
    ]
    if op.query is not None:
        params.extend(_query_parameters(op, schemas[op.query], components))
    params.extend(
        {"name": name, "in": "header", "required": False, **spec} for name, spec in op.request_headers.items()
    )
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


def _operation_id(op: Operation[Any]) -> str:
    words = re.sub(r"[{}]", "", op.path.removeprefix("/api/")).replace(".", "_").replace("-", "_")
    return f"{op.method.lower()}_{words.replace('/', '_')}"


def build(ops: tuple[Operation[Any], ...], *, version: str = "") -> dict[str, Any]:
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


def document(ops: tuple[Operation[Any], ...]) -> bytes:
    """The document describing ``ops`` as served and written (stable key order, one trailing newline)."""
    return msgspec.json.format(msgspec.json.encode(build(ops)), indent=2) + b"\n"
