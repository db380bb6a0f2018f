"""Each provider against its recorded answers (``fixtures/SOURCES.md``), at httpx's seam.

respx stands in for the network: the provider sends its real request through httpx and
gets the recorded body back. What comes out is checked against the recorded values by
hand arithmetic: quarter hours, units per kWh, repeats filled in, energy kept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx

from carhome.energy.providers import BadAnswer, ProviderError
from carhome.energy.providers.awattar import Awattar, AwattarConfig
from carhome.energy.providers.entsoe import Entsoe, EntsoeConfig
from carhome.energy.providers.forecastsolar import ForecastSolar, ForecastSolarConfig
from carhome.energy.providers.octopus import Octopus, OctopusConfig
from carhome.energy.providers.openmeteo import OpenMeteo, OpenMeteoConfig
from carhome.energy.providers.tibber import Tibber

FIXTURES = Path(__file__).parent / "fixtures"
Q = timedelta(minutes=15)


def recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_tibber_quarter_hours_of_today() -> None:
    now = at("2024-10-06T09:10:00+02:00")
    with respx.mock:
        route = respx.post("https://api.tibber.com/v1-beta/gql").respond(
            200, content=recorded("tibber_price_info.json")
        )
        async with httpx.AsyncClient() as client:
            series = await Tibber("secret-token").fetch(client, now)
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer secret-token"
    assert "QUARTER_HOURLY" in json.loads(sent.content)["query"]
    assert (series.start, series.slot, len(series.values), series.unit) == (
        at("2024-10-06T00:00:00+02:00"),
        Q,
        96,
        "EUR/kWh",
    )
    assert series.at(at("2024-10-06T13:00:00+02:00")) == pytest.approx(0.2 + -0.01 / 1000 * 1.21, abs=1e-4)


async def test_tibber_refusing_the_token_is_an_outage_not_bad_input() -> None:
    body = b'{"errors":[{"message":"invalid token","extensions":{"code":"UNAUTHENTICATED"}}]}'
    with respx.mock:
        respx.post("https://api.tibber.com/v1-beta/gql").respond(200, content=body)
        async with httpx.AsyncClient() as client:
            with pytest.raises(ProviderError, match="invalid token") as caught:
                await Tibber("wrong").fetch(client, at("2024-10-06T09:10:00+02:00"))
    assert not isinstance(caught.value, BadAnswer)


async def test_octopus_agile_half_hours_become_quarter_hours_in_pounds() -> None:
    now = at("2022-10-22T06:00:00Z")
    config = OctopusConfig(product="AGILE-18-02-21", tariff="E-1R-AGILE-18-02-21-C")
    url = "https://api.octopus.energy/v1/products/AGILE-18-02-21/electricity-tariffs/E-1R-AGILE-18-02-21-C/standard-unit-rates/"
    with respx.mock:
        route = respx.get(url).respond(200, content=recorded("octopus_agile.json"))
        async with httpx.AsyncClient() as client:
            series = await Octopus(config).fetch(client, now)
    assert route.calls.last.request.url.params["period_from"] == "2022-10-22T05:00Z"
    assert (series.start, series.end, len(series.values)) == (
        at("2022-10-21T23:00Z"),
        at("2022-10-22T23:00Z"),
        96,
    )
    # 17:00–17:30 UTC costs 33.4761 p/kWh including VAT: both its quarter hours
    assert series.at(at("2022-10-22T17:15Z")) == pytest.approx(0.334761)
    assert series.at(at("2022-10-22T00:00Z")) == pytest.approx(0.14123)


async def test_entsoe_fills_left_out_points_and_lays_hours_on_quarters() -> None:
    now = at("2024-10-06T12:00Z")
    config = EntsoeConfig(area="10YBE----------2", token="t0ken", add=0.1, vat_percent=21)
    with respx.mock:
        route = respx.get("https://web-api.tp.entsoe.eu/api").respond(
            200, content=recorded("entsoe_be_a44.xml")
        )
        async with httpx.AsyncClient() as client:
            series = await Entsoe(config, "t0ken").fetch(client, now)
    params = route.calls.last.request.url.params
    assert (params["documentType"], params["in_Domain"], params["periodStart"]) == (
        "A44",
        "10YBE----------2",
        "202410050000",
    )
    assert (series.start, series.end) == (at("2024-10-05T22:00Z"), at("2024-10-08T22:00Z"))

    def price(eur_mwh: float) -> float:
        return (eur_mwh / 1000 + 0.1) * 1.21

    # position 53 (-0.01 EUR/MWh) holds its hour; 57 is left out, so it repeats 53
    assert series.at(at("2024-10-06T11:00Z")) == pytest.approx(price(-0.01))
    assert series.at(at("2024-10-06T12:45Z")) == pytest.approx(price(-0.01))
    assert series.at(at("2024-10-06T13:00Z")) == pytest.approx(price(0.2))
    # the third day is hourly: each hour's price on its four quarters
    assert series.at(at("2024-10-08T05:45Z")) == pytest.approx(price(88.24))  # position 8 of 24
    assert series.at(at("2024-10-08T06:00Z")) == pytest.approx(price(100))


async def test_entsoe_with_nothing_published_is_an_outage() -> None:
    with respx.mock:
        respx.get("https://web-api.tp.entsoe.eu/api").respond(200, content=recorded("entsoe_no_data.xml"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(ProviderError, match="No matching data found") as caught:
                await Entsoe(EntsoeConfig(area="10YBE----------2"), "t").fetch(
                    client, at("2026-03-11T07:00Z")
                )
    assert not isinstance(caught.value, BadAnswer)


async def test_entsoe_refuses_xml_that_declares_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>'
    with respx.mock:
        respx.get("https://web-api.tp.entsoe.eu/api").respond(200, content=bomb)
        async with httpx.AsyncClient() as client:
            with pytest.raises(BadAnswer) as caught:
                await Entsoe(EntsoeConfig(area="10YBE----------2"), "t").fetch(
                    client, at("2026-03-11T07:00Z")
                )
    assert caught.value.code == "not_xml"


async def test_awattar_market_prices_per_kwh() -> None:
    now = at("2023-10-26T09:30Z")
    with respx.mock:
        route = respx.get("https://api.awattar.de/v1/marketdata").respond(
            200, content=recorded("awattar_de.json")
        )
        async with httpx.AsyncClient() as client:
            series = await Awattar(AwattarConfig(country="de", add=0.2)).fetch(client, now)
    assert int(route.calls.last.request.url.params["start"]) == int(
        at("2023-10-26T08:00Z").timestamp() * 1000
    )
    assert (series.start, len(series.values)) == (at("2023-10-26T09:00Z"), 13 * 4)
    assert series.at(at("2023-10-26T16:45Z")) == pytest.approx(150.95 / 1000 + 0.2)  # the eighth hour


async def test_forecast_solar_keeps_the_forecast_energy() -> None:
    now = at("2024-04-26T18:56:01+02:00")
    config = ForecastSolarConfig(lat=52.16, lon=4.47, declination=30, azimuth=0, kwp=1.2)
    with respx.mock:
        route = respx.get("https://api.forecast.solar/estimate/52.16/4.47/30/0/1.2").respond(
            200, content=recorded("forecast_solar.json")
        )
        async with httpx.AsyncClient() as client:
            series = await ForecastSolar(config).fetch(client, now)
    assert route.calls.last.request.url.params["time"] == "iso8601"
    kwh = sum(series.values) * 0.25
    assert kwh == pytest.approx((6660 + 5338) / 1000)
    # 825 Wh from 10:00 to 11:00 local: 0.825 kW in each of its quarter hours
    assert series.at(at("2024-04-26T10:30:00+02:00")) == pytest.approx(0.825)
    # sunrise at 06:20:17: 89 Wh until 07:00 spread over its 2,383 s, 583 s of them before 06:30
    assert series.at(at("2024-04-26T06:15:00+02:00")) == pytest.approx(0.089 * 583 / 2383 / 0.25)


async def test_forecast_solar_rate_limit_says_when_to_come_back() -> None:
    now = at("2024-04-27T02:38:53+02:00")
    config = ForecastSolarConfig(lat=52.16, lon=4.47, kwp=1.2)
    with respx.mock:
        respx.get(url__startswith="https://api.forecast.solar/estimate/").respond(
            429, content=recorded("forecast_solar_ratelimit.json")
        )
        async with httpx.AsyncClient() as client:
            with pytest.raises(ProviderError, match="Rate limit") as caught:
                await ForecastSolar(config).fetch(client, now)
    assert caught.value.retry_after == pytest.approx(600.0)


async def test_open_meteo_irradiance_becomes_the_planes_power() -> None:
    now = at("2023-01-01T06:00Z")
    config = OpenMeteoConfig(lat=52.52, lon=13.42, declination=35, azimuth=0, kwp=8.0, performance=0.85)
    with respx.mock:
        route = respx.get("https://api.open-meteo.com/v1/forecast").respond(
            200, content=recorded("open_meteo_hourly.json")
        )
        async with httpx.AsyncClient() as client:
            series = await OpenMeteo(config).fetch(client, now)
    params = route.calls.last.request.url.params
    assert (params["hourly"], params["tilt"], params["azimuth"], params["timezone"]) == (
        "global_tilted_irradiance",
        "35",
        "0",
        "GMT",
    )
    # 128.9 W/m² is the mean of the hour that ends at 12:00
    assert series.at(at("2023-01-01T11:45Z")) == pytest.approx(8.0 * 0.1289 * 0.85)
    assert series.at(at("2023-01-01T12:00Z")) == pytest.approx(8.0 * 0.1119 * 0.85)
    assert min(series.values) == 0.0
