"""The history API in-process over ASGI, and ``carhome trips`` / ``carhome charges`` against a
hub served on loopback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from history_server import HOME, START, TARIFF, HistoryServer, fill

from carhome.api import create_app
from carhome.cli.client import ApiError
from carhome.cli.history import HistoryClient, charges, trips
from carhome.history import History
from carhome.history.routes import history_routes
from carhome.hub import Device, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock


@pytest.fixture
async def client() -> AsyncIterator[HistoryClient]:
    clock = FakeClock(START - 3600)
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        await hub.add_home(HOME)
        await hub.add_device(Device(home="h1", id="car", type="car"))
        async with History(hub, tariff=TARIFF) as history:
            await fill(hub, clock)
            app = create_app(hub)
            app.router.routes.extend(history_routes(hub, history))
            async with HistoryClient("http://hub", transport=httpx.ASGITransport(app=app)) as client:
                yield client


async def test_trips_charges_and_parked_with_their_timezone(client: HistoryClient) -> None:
    found = await client.trips()
    assert [(t.start_place, t.end_place) for t in found.trips] == [("home", "work"), ("work", "home")]
    assert found.timezones == {"h1": "Asia/Shanghai"}
    [charge] = (await client.charges()).charges
    assert charge.added_kwh == 12.0
    assert charge.cost == pytest.approx(12.0 * 1.0)  # 18:xx to 20:xx: the day price
    parked = (await client.parked()).parked
    assert [p.place for p in parked] == ["home", "work", "home"]  # before, at work, before charging


async def test_filters_by_local_date_car_and_limit(client: HistoryClient) -> None:
    assert len((await client.trips(from_="2026-01-05", to="2026-01-06")).trips) == 2
    assert (await client.trips(from_="2026-01-06")).trips == []
    evening = await client.trips(from_="2026-01-05T12:00")
    assert [t.end_place for t in evening.trips] == ["home"]
    assert len((await client.trips(from_=str(START + 3600))).trips) == 1
    assert len((await client.trips(car="h1/car", limit="1")).trips) == 1
    assert len((await client.trips(car="car")).trips) == 2


async def test_summaries_by_day_and_month(client: HistoryClient) -> None:
    days = await client.summaries("day")
    [day] = days.summaries
    assert (day.key, day.trips, day.distance_km, day.charges) == ("2026-01-05", 2, 14.0, 1)
    assert day.wh_per_km == pytest.approx(2000 / 14, abs=1)
    [month] = (await client.summaries("month")).summaries
    assert month.key == "2026-01"


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ({"from": "yesterday"}, "from", 422),
        ({"to": "2026-13-01"}, "to", 422),
        ({"limit": "0"}, "$.limit", 422),
        ({"limit": "many"}, "$.limit", 422),
        ({"colour": "red"}, None, 422),
        ({"car": "h1/van"}, None, 404),
        ({"home": "h9"}, None, 404),
    ],
)
async def test_bad_query_values_are_problems_naming_the_parameter(
    client: HistoryClient, query: dict[str, str], field: str | None, status: int
) -> None:
    response = await client._http.get("/api/history/trips", params=query)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field
    if field in ("from", "to"):
        assert "a date (2026-01-07)" in body["allowed"]


async def test_a_bad_period_says_which_are_allowed(client: HistoryClient) -> None:
    with pytest.raises(ApiError) as caught:
        await client.summaries("week")  # type: ignore[arg-type]
    assert caught.value.status == 422
    assert caught.value.fields["allowed"] == "'day' or 'month'"


# -- the CLI against a served hub ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[HistoryServer]:
    running = HistoryServer()
    running.start()
    yield running
    running.stop()


def run(server: HistoryServer, command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, [*args, "--hub", server.url], catch_exceptions=False)


def test_trips_table_in_local_time(server: HistoryServer) -> None:
    result = run(server, trips)
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:4] == ["START", "END", "FROM", "TO"]
    assert rows[0].split()[:6] == ["2026-01-05", "08:01", "08:10", "home", "work", "7.0"]
    assert len(rows) == 2


def test_trips_by_day_and_as_json(server: HistoryServer) -> None:
    result = run(server, trips, "--day")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[:3] == ["2026-01-05", "2", "14.0"]
    body = json.loads(run(server, trips, "--month", "--json").output)
    assert body["summaries"][0]["key"] == "2026-01"
    listed = json.loads(run(server, trips, "--json").output)
    assert len(listed["trips"]) == 2


def test_charges_table_and_an_unknown_car(server: HistoryServer) -> None:
    result = run(server, charges)
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert "COST" in header
    assert row.split()[3:6] == ["home", "12.00", "-"]
    assert row.split()[-1] == "12.00"
    missing = run(server, charges, "--car", "van")
    assert missing.exit_code == 1
    assert "there is no car 'van'" in missing.output


def test_trips_plot_writes_an_svg(server: HistoryServer, tmp_path: Path) -> None:
    out = tmp_path / "trips.svg"
    result = run(server, trips, "plot", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert ET.parse(out).getroot().tag.endswith("svg")
    assert result.output.strip() == f"{out}: 2 trips"
    later = run(server, trips, "plot", "--out", str(out), "--from", "2026-01-05T12:00")
    assert later.exit_code == 0, later.output
    assert later.output.strip() == f"{out}: 1 trip"
    bad = run(server, trips, "plot", "--out", str(tmp_path / "trips.gif"))
    assert bad.exit_code == 2
    assert ".svg or .png" in bad.output


def test_trips_plot_without_matplotlib_says_which_extra_to_install(
    server: HistoryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """matplotlib is the ``charts`` extra: an install without it draws nothing and says so."""
    import sys  # noqa: PLC0415

    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] or ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # what an install without it sees
    monkeypatch.delitem(sys.modules, "carhome.cli.charts", raising=False)
    result = CliRunner().invoke(trips, ["plot", "--out", str(tmp_path / "t.svg"), "--hub", server.url])
    assert result.exit_code == 1, result.output
    assert "install the charts extra (pip install 'carhome[charts]')" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "t.svg").exists()
