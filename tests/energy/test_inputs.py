"""Value objects, tariffs, taper curves and departures refuse what is wrong when made."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from carhome.energy import (
    Charger,
    Connection,
    DynamicTariff,
    Energy,
    Power,
    SiteForecast,
    SlotSeries,
    Soc,
    TaperCurve,
    TimeOfUseTariff,
    TouWindow,
    WeeklyDeparture,
)
from carhome.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")


def test_units_are_checked() -> None:
    assert Power.of_current(16, phases=3, volts=230).kw == pytest.approx(11.04)
    assert Soc.percent(80) == Soc(0.8)
    with pytest.raises(ConfigError, match="negative"):
        Power(-1)
    with pytest.raises(ConfigError, match="negative"):
        Energy(-1)
    with pytest.raises(ConfigError, match="0 to 100"):
        Soc(1.2)
    with pytest.raises(ConfigError, match="finite"):
        Power(float("nan"))
    with pytest.raises(ConfigError, match="phases"):
        Power.of_current(16, phases=4, volts=230)


def test_chargers_and_connections_are_checked() -> None:
    assert Charger("w", 16, 6, 3).min_power.kw == pytest.approx(4.14)
    with pytest.raises(ConfigError, match="min current"):
        Charger("w", 6, 16)
    with pytest.raises(ConfigError, match="only 1"):
        Charger("w", 16, 6, 3, connection=Connection("c", 32, phases=1))
    with pytest.raises(ConfigError, match="positive"):
        Connection("c", 0)


def test_taper_must_be_non_increasing_and_concave() -> None:
    curve = TaperCurve(((0, 11), (0.8, 11), (1, 3)))
    assert curve.max_power(0.9) == pytest.approx(7)
    assert [pytest.approx(line) for line in curve.lines()] == [(11, 0), (43, -40)]
    with pytest.raises(ConfigError, match="rise"):
        TaperCurve(((0, 5), (1, 6)))
    with pytest.raises(ConfigError, match="concave"):
        TaperCurve(((0, 11), (0.5, 5), (1, 4)))
    with pytest.raises(ConfigError, match="SoC 0 to SoC 1"):
        TaperCurve(((0.1, 11), (1, 3)))


def test_time_of_use_prices_by_local_time() -> None:
    tariff = TimeOfUseTariff((TouWindow(time(22), time(6), 0.1), TouWindow(time(6), time(22), 0.3)), BERLIN)
    at = [datetime(2025, 1, 6, h, tzinfo=UTC) for h in (4, 5, 20, 21)]  # Berlin is UTC+1 in January
    assert tariff.prices(at) == [0.1, 0.3, 0.3, 0.1]
    assert tariff.known_until() is None


def test_time_of_use_windows_must_cover_the_day_once() -> None:
    with pytest.raises(ConfigError, match="gap at 06:00"):
        TimeOfUseTariff((TouWindow(time(22), time(6), 0.1), TouWindow(time(7), time(22), 0.3)), BERLIN)
    with pytest.raises(ConfigError, match="overlap at 21:00"):
        TimeOfUseTariff((TouWindow(time(21), time(6), 0.1), TouWindow(time(6), time(22), 0.3)), BERLIN)


def test_dynamic_tariff_knows_its_end() -> None:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    tariff = DynamicTariff.of(start, [0.1, 0.2])
    assert tariff.known_until() == start + timedelta(minutes=30)
    assert tariff.prices([start + timedelta(minutes=20)]) == [0.2]
    with pytest.raises(ConfigError, match="no value"):
        tariff.prices([start + timedelta(hours=1)])


def test_series_and_forecasts_are_checked() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        SlotSeries.of(datetime(2025, 1, 6), [1.0])
    with pytest.raises(ConfigError, match="at least one"):
        SlotSeries.of(datetime(2025, 1, 6, tzinfo=UTC), [])
    with pytest.raises(ConfigError, match="negative"):
        SiteForecast(solar=SlotSeries.of(datetime(2025, 1, 6, tzinfo=UTC), [-1.0]))


def test_weekly_departure_is_the_next_one() -> None:
    weekly = WeeklyDeparture(((0, time(7)), (4, time(8))), BERLIN)  # Monday 7:00, Friday 8:00
    monday_night = datetime(2025, 1, 6, 20, tzinfo=BERLIN)
    assert weekly.next_after(monday_night) == datetime(2025, 1, 10, 8, tzinfo=BERLIN)
    sunday = datetime(2025, 1, 12, 12, tzinfo=BERLIN)
    assert weekly.next_after(sunday) == datetime(2025, 1, 13, 7, tzinfo=BERLIN)
    with pytest.raises(ConfigError, match="twice"):
        WeeklyDeparture(((0, time(7)), (0, time(8))), BERLIN)
