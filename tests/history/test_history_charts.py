"""Charts of a plan and of trips: real SVG and PNG files, chosen by the file's suffix."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from history_rig import Week

from carhome.cli.charts import plan_chart, trips_chart
from carhome.energy import CarPlan, Mode, Plan
from carhome.errors import ConfigError

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
SLOTS = 16


def plan() -> Plan:
    starts = tuple(T0 + timedelta(hours=h) for h in range(SLOTS))
    power = tuple(7.0 if 5 <= h < 9 else 0.0 for h in range(SLOTS))
    soc = [0.3]
    for p in power:
        soc.append(soc[-1] + p / 75.0)
    car = CarPlan(
        car_id="car",
        mode=Mode.SMART,
        power_kw=power,
        soc=tuple(soc),
        target_soc=0.67,
        departure=T0 + timedelta(hours=13),
        energy_kwh=sum(power),
        shortfall_kwh=0.0,
    )
    return Plan(
        made_at=T0,
        starts=starts,
        end=T0 + timedelta(hours=SLOTS),
        hours=(1.0,) * SLOTS,
        price=tuple(1.0 if h < 4 else 0.3 for h in range(SLOTS)),
        feed_in=(0.05,) * SLOTS,
        solar_kw=(0.0,) * SLOTS,
        load_kw=(0.6,) * SLOTS,
        cars=(car,),
        grid_kw=tuple(0.6 + p for p in power),
        cost=9.3,
        charging_cost=8.4,
        energy_from_grid_kwh=28.0,
        energy_from_solar_kwh=0.0,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def svg_texts(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return path.read_text(encoding="utf-8")


def test_a_plan_as_svg_names_its_panels(tmp_path: Path) -> None:
    out = plan_chart(plan(), tmp_path / "plan.svg", zone=ZoneInfo("Asia/Shanghai"))
    text = svg_texts(out)
    for words in ("price / kWh", "state of charge %", "car planned", "charging cost 8.40"):
        assert words in text


def test_a_plan_as_png(tmp_path: Path) -> None:
    width, height = png_size(plan_chart(plan(), tmp_path / "plan.png"))
    assert (width, height) == (1200, 900)  # 10 × 7.5 inches at 120 dpi


def test_trips_of_a_week_as_png_and_svg(week: Week, tmp_path: Path) -> None:
    assert png_size(trips_chart(week.trips, tmp_path / "trips.png")) == (1200, 720)
    text = svg_texts(trips_chart(week.trips, tmp_path / "trips.svg"))
    assert "14 trips" in text


def test_no_trips_is_still_a_chart(tmp_path: Path) -> None:
    text = svg_texts(trips_chart([], tmp_path / "none.svg"))
    assert "no trips" in text
    # matplotlib writes each tick label as an SVG comment
    labels = re.findall(r"<!-- (.*?) -->", text)
    print("empty trips chart ticks:", ", ".join(labels))
    assert not [label for label in labels if "0.04" in label or label.startswith("\u2212")]
    assert {"0", "50", "250", "00:00", "12:00"} <= set(labels)


def test_one_trip_is_one_trip(tmp_path: Path, week: Week) -> None:
    text = svg_texts(trips_chart(week.trips[:1], tmp_path / "one.svg"))
    assert "1 trip," in text
    assert "1 trips" not in text


@pytest.mark.parametrize("name", ["plan.pdf", "plan", "plan.svg.gz"])
def test_other_suffixes_are_refused_with_what_is_accepted(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"\.svg or \.png"):
        plan_chart(plan(), tmp_path / name)
    assert not (tmp_path / name).exists()
