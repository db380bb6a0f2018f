"""The automations API and the CLI's client of it, in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from carhome.api import create_app
from carhome.automations import Engine
from carhome.automations.routes import automation_routes
from carhome.cli.automations import AutomationsClient, _trace_text
from carhome.cli.client import ApiError
from carhome.hub import Hub
from carhome.spec import vss

TEXT = """
home: h1
automations:
  - id: low
    triggers: [{trigger: threshold, device: car, property: soc, below: 20}]
    conditions: [{condition: place, device: car, place: home}]
    actions:
      - {action: notify, member: owner, message: "low {trigger.value}"}
"""


@pytest.fixture
async def client(hub: Hub, engine: Engine) -> AsyncIterator[AutomationsClient]:
    app = create_app(hub)
    app.router.routes.extend(automation_routes(hub, engine))
    async with AutomationsClient("http://hub", transport=httpx.ASGITransport(app=app)) as client:
        yield client


async def test_list_and_trace(hub: Hub, engine: Engine, client: AutomationsClient) -> None:
    assert engine.load_text(TEXT, "low.yaml") == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    hub.report("h1", "car", {vss.SOC: 15.0})
    [listed] = await client.automations()
    assert (listed.id, listed.file, listed.line, listed.firings) == ("low", "low.yaml", 4, 1)
    traces = await client.traces("low")
    [trace] = traces.traces
    assert trace.status == "finished"
    assert trace.trigger is not None
    assert trace.trigger.value == 15.0
    text = _trace_text(trace)
    assert "trigger[0] threshold: h1/car" in text
    assert "condition conditions[0]: pass" in text
    assert "actions[0]" in text


async def test_check_reports_file_and_line_and_loads_nothing(
    hub: Hub, engine: Engine, client: AutomationsClient
) -> None:
    bad = TEXT.replace("device: car, property: soc", "device: van, property: soc")
    result = await client.check(bad, "mine.yaml")
    [error] = result.errors
    assert (error.file, error.line) == ("mine.yaml", 5)
    assert "van" in error.message
    assert (await client.check(TEXT, "mine.yaml")).errors == []
    assert engine.automations() == []
    hub.report("h1", "car", {"place": "home"}, trusted=True)
    hub.report("h1", "car", {vss.SOC: 15.0})
    assert engine.notifications.list() == []  # the checked automation let go of the bus


async def test_unknown_automation_is_a_problem(client: AutomationsClient) -> None:
    with pytest.raises(ApiError) as caught:
        await client.traces("nope")
    assert caught.value.status == 404
    assert "no automation 'nope'" in caught.value.detail
