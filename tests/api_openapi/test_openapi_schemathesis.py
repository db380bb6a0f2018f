"""Schemathesis over the description, against a real demo hub: as its owner, and with no token.

As the owner, every operation is called with generated valid and invalid input and must
answer without a server error, with a status, content type and body its description
declares. Without a token, every operation but the open ones must answer 401 (a check of
our own: no 2xx without a token). Examples are bounded and derandomized, so a run is
short and the same every time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_hub import DemoHub
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from carhome.api.openapi import build
from carhome.compose.demo import DEMO_OWNER
from carhome.compose.operations import OPERATIONS

# The demo hub serving these requests runs in its own thread, where websockets' pings (the
# simulated OCPP wallbox) use the global `random` while the strategies draw; Hypothesis would
# report that as if the strategies used it. The hub is this module's alone (see conftest.py).
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

OWNER_EXAMPLES = 12
OPEN_OPERATIONS = {
    ("GET", "/api/health"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("GET", "/api/setup"),  # whether the hub waits for its first owner
    ("POST", "/api/setup/owner"),  # the one-time setup code stands for the token
}
# Ends the session of the token it is called with: called with a session of its own.
ENDS_ITS_SESSION = ("POST", "/api/auth/logout")

CHECKS: list[Any] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=OWNER_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def refused_without_token(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 2xx (nor anything but a 401 problem) without a token, but for the open operations."""
    if (case.operation.method.upper(), case.path) in OPEN_OPERATIONS:
        return None
    if response.status_code != 401:
        raise AssertionError(f"{case.method} {case.path} answered {response.status_code} without a token")
    if response.headers.get("content-type", [""])[0] != "application/problem+json":
        raise AssertionError(f"{case.method} {case.path}: the 401 is not a problem")
    return None


# Path parameters drawn from the demo's own ids (and one that is none of them), so the
# operations are reached past their 404s; the served description leaves them free strings.
DEMO_IDS = {
    "home": ["yizhuang", "atlantis"],
    "device": ["car", "front_door", "garage_door", "living_room_purifier", "nothing"],
    "car": ["car", "front_door"],
}


def _with_demo_ids(doc: dict[str, Any]) -> dict[str, Any]:
    for item in doc["paths"].values():
        for op in item.values():
            for param in op.get("parameters", ()):
                if param["in"] == "path" and param["name"] in DEMO_IDS:
                    param["schema"] = {"enum": DEMO_IDS[param["name"]]}
                elif param["in"] == "path" and param["name"] == "member":
                    # revoking the owner would end every later call's token
                    param["schema"] = {**param["schema"], "not": {"const": DEMO_OWNER}}
    return doc


schema = schemathesis.openapi.from_dict(_with_demo_ids(build(OPERATIONS)))


@schema.parametrize()
@SETTINGS
def test_every_operation_as_the_owner(case: schemathesis.Case, demo_hub: DemoHub) -> None:
    token = demo_hub.fresh_token() if (case.method.upper(), case.path) == ENDS_ITS_SESSION else demo_hub.token
    case.call_and_validate(
        base_url=demo_hub.url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
    )


@schema.parametrize()
@settings(SETTINGS, max_examples=2)
def test_nothing_answers_without_a_token_but_the_open_operations(
    case: schemathesis.Case, demo_hub: DemoHub
) -> None:
    case.call_and_validate(
        base_url=demo_hub.url, checks=[not_a_server_error, refused_without_token], timeout=30
    )
