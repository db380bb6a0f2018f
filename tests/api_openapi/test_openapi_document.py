"""The OpenAPI description: complete for the hub's app, current in docs/, served, printed."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from openapi_hub import DemoHub
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from carhome.api.local import PATH, HubRoutes
from carhome.api.openapi import build
from carhome.cli.main import cli
from carhome.compose.operations import OPERATIONS, document_bytes
from carhome.http.operations import Operation, OperationRoute

DOCS = Path(__file__).parents[2] / "docs" / "openapi.json"

# Not HTTP operations of the API, so not in the description — named here, one by one, so
# anything else a route table gains must be described.
NOT_OPERATIONS = {
    ("WS", "/api/ws"),  # the live WebSocket (the description's text says how to use it)
    ("MOUNT", "/"),  # the web app's pages and static files, after every API route
}


def _served(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            found.add(("WS", route.path))
        elif isinstance(route, Mount):
            found.add(("MOUNT", route.path or "/"))
        else:
            found.add((type(route).__name__, getattr(route, "path", "?")))
    return found


def test_every_route_of_the_hub_is_described(demo_hub: DemoHub) -> None:
    served = _served(demo_hub.app.router.routes)
    described = {(op.method, op.path) for op in OPERATIONS}
    assert served - described == NOT_OPERATIONS, "routes the description misses (add an Operation)"
    assert described <= served, "operations described that the hub does not serve"
    assert len(described) == len(OPERATIONS), "an operation is declared twice"


def test_the_hubs_api_routes_are_the_declared_operations(demo_hub: DemoHub) -> None:
    """Each HTTP route is made from its declaration, the very one the description lists: a
    route cannot differ from what is described of it (method, path, open or not)."""
    http = [r for r in demo_hub.app.router.routes if isinstance(r, Route)]
    assert http, "the hub serves no HTTP route"
    for route in http:
        assert isinstance(route, OperationRoute), f"{route.path} is not made from an Operation"
        assert route.operation in OPERATIONS, f"{route.operation.method} {route.path} is not described"
        assert route.methods is not None
        assert route.methods - {"HEAD"} == {route.operation.method}
        assert route.path == route.operation.path
    served = [r.operation for r in http if isinstance(r, OperationRoute)]
    assert sorted(OPERATIONS, key=repr) == sorted(served, key=repr), "declared once and served once"


def test_the_committed_description_is_current() -> None:
    assert DOCS.read_bytes() == document_bytes(), "run: carhome openapi -o docs/openapi.json"


def test_the_description_is_openapi_3_1_with_bearer_security() -> None:
    doc = build(OPERATIONS)
    assert doc["openapi"] == "3.1.0"
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    opened = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op.get("security") == []
    }
    assert opened == {
        ("GET", "/api/health"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/refresh"),
        ("GET", "/api/setup"),  # a hub's first run: whether it waits for its owner …
        ("POST", "/api/setup/owner"),  # … and making that owner with the code it printed
    }
    assert opened == {(op.method, op.path) for op in OPERATIONS if op.open}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            problems = {s: r for s, r in op["responses"].items() if int(s) >= 400}
            # the two that take nothing and need no login cannot fail
            assert problems or path in ("/api/health", "/api/setup"), f"{method} {path} declares no problem"
            for r in problems.values():
                assert list(r["content"]) == ["application/problem+json"]
            if op.get("security") != []:
                assert "401" in op["responses"], f"{method} {path} needs a token but declares no 401"


def test_struct_schemas_come_from_msgspec() -> None:
    doc = build(OPERATIONS)
    schemas = doc["components"]["schemas"]
    command = schemas["CommandRequest"]
    assert command["required"] == ["kind", "target"]
    assert command["properties"]["kind"] == {"enum": ["action", "set"]}
    body = doc["paths"]["/api/devices/{home}/{device}/commands"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CommandRequest"}
    params = {p["name"]: p for p in doc["paths"]["/api/history/trips"]["get"]["parameters"]}
    assert set(params) == {"home", "car", "from", "to", "limit"}  # period: the summaries only
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000}


def test_a_struct_shared_by_two_operations_is_one_component() -> None:
    twice = Operation("GET", "/x/{a}", HubRoutes.health, "x", "t", {200: OPERATIONS[0].responses[200]})
    doc = build((OPERATIONS[0], twice))
    assert list(doc["components"]["schemas"]) == ["ProblemOut", "Health"]
    assert doc["paths"]["/x/{a}"]["get"]["parameters"][0]["name"] == "a"


def test_the_hub_serves_the_description_to_a_member_only(demo_hub: DemoHub) -> None:
    with httpx.Client(base_url=demo_hub.url) as client:
        refused = client.get(PATH)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        r = client.get(PATH, headers={"Authorization": f"Bearer {demo_hub.token}"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == document_bytes()


@pytest.mark.parametrize("to_file", [False, True])
def test_carhome_openapi_prints_or_writes_it(tmp_path: Path, *, to_file: bool) -> None:
    out = tmp_path / "openapi.json"
    args = ["openapi", "-o", str(out)] if to_file else ["openapi"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = out.read_text() if to_file else result.output
    assert json.loads(text)["paths"].keys() == build(OPERATIONS)["paths"].keys()


def test_a_wrong_method_on_an_api_path_is_a_405_with_allow(demo_hub: DemoHub) -> None:
    """The web app's catch-all must not turn it into a 404 (it claims no path under /api)."""
    with httpx.Client(base_url=demo_hub.url) as client:
        r = client.request("DELETE", "/api/health")
        page = client.get("/devices/yizhuang/car")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    assert r.headers["content-type"] == "application/problem+json"
    assert page.status_code == 200  # the pages are still the web app's
