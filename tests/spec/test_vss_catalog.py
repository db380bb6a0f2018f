"""carhome's VSS catalog against the COVESA VSS 5.0 release.

The standard is read from ``shared/vss/vss-5.0.csv`` beside the project (or from the
directory named by ``CARHOME_VSS_DIR``); it is never copied into the project. A missing file
is a failure, not a skip: a catalog nobody checked is not a checked catalog.
"""

from __future__ import annotations

import ast
import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from carhome.spec import SPECS, Access, Format, vss
from carhome.spec.devices import DISTANCE_TO_HOME, PLACE

VSS_FILE = "vss-5.0.csv"
KINDS = frozenset({"sensor", "actuator", "attribute"})


@dataclass(frozen=True)
class Node:
    """One row of the VSS export, as the standard gives it."""

    path: str
    kind: str
    datatype: str
    deprecated: str
    unit: str | None
    minimum: float | None
    maximum: float | None
    allowed: tuple[str, ...] | None


def vss_csv() -> Path:
    override = os.environ.get("CARHOME_VSS_DIR")
    if override:
        return Path(override) / VSS_FILE
    return Path(__file__).resolve().parents[2].parent / "shared" / "vss" / VSS_FILE


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def _allowed(text: str) -> tuple[str, ...] | None:
    if not text.strip():
        return None
    values = ast.literal_eval(text)
    return tuple(str(v) for v in values)


def load_standard(path: Path) -> dict[str, Node]:
    """Every node of the VSS export at ``path``; fails the test if there is none."""
    if not path.is_file():
        pytest.fail(
            f"the VSS 5.0 standard is not at {path}: put the COVESA export there "
            "(shared/vss/ beside the project) or set CARHOME_VSS_DIR to the directory holding "
            f"{VSS_FILE}; the catalog cannot be checked without it",
            pytrace=False,
        )
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        row["Signal"]: Node(
            path=row["Signal"],
            kind=row["Type"],
            datatype=row["DataType"],
            deprecated=row["Deprecated"],
            unit=row["Unit"] or None,
            minimum=_number(row["Min"]),
            maximum=_number(row["Max"]),
            allowed=_allowed(row["Allowed"]),
        )
        for row in rows
    }


@functools.cache
def the_standard() -> dict[str, Node]:
    # Loaded inside each test, not in a fixture: a missing file is a FAILED test, not an error.
    return load_standard(vss_csv())


def test_the_standard_file_is_the_one_we_expect() -> None:
    standard = the_standard()
    # Guards the parser: a wrong file or a changed column layout must not pass silently.
    assert len(standard) > 1000
    assert standard["Vehicle.Speed"] == Node("Vehicle.Speed", "sensor", "float", "", "km/h", None, None, None)


def test_missing_standard_fails_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARHOME_VSS_DIR", str(tmp_path))
    assert vss_csv() == tmp_path / VSS_FILE
    with pytest.raises(pytest.fail.Exception, match="CARHOME_VSS_DIR"):
        load_standard(vss_csv())


@pytest.mark.parametrize("signal", vss.CATALOG, ids=lambda s: s.path)
def test_catalog_signal_matches_vss_5(signal: vss.Signal) -> None:
    node = the_standard().get(signal.path)
    assert node is not None, f"{signal.path} is not a VSS 5.0 signal"
    assert node.kind in KINDS, f"{signal.path} is a {node.kind} in VSS 5.0, not a signal"
    assert not node.deprecated, f"{signal.path} is deprecated in VSS 5.0: {node.deprecated}"
    assert signal.kind == node.kind, f"{signal.path}: kind {signal.kind}, VSS says {node.kind}"
    assert signal.datatype == node.datatype, (
        f"{signal.path}: datatype {signal.datatype}, VSS says {node.datatype}"
    )
    assert signal.unit == node.unit, f"{signal.path}: unit {signal.unit}, VSS says {node.unit}"
    assert signal.minimum == node.minimum, f"{signal.path}: minimum {signal.minimum}, VSS says {node.minimum}"
    assert signal.maximum == node.maximum, f"{signal.path}: maximum {signal.maximum}, VSS says {node.maximum}"
    assert signal.allowed == node.allowed, f"{signal.path}: allowed {signal.allowed}, VSS says {node.allowed}"


@pytest.mark.parametrize("signal", vss.CATALOG, ids=lambda s: s.path)
def test_only_actuators_are_writable(signal: vss.Signal) -> None:
    if signal.writable:
        assert signal.kind == "actuator", f"{signal.path} is a {signal.kind}; commands cannot set it"


def test_catalog_paths_are_unique() -> None:
    paths = [s.path for s in vss.CATALOG]
    assert len(paths) == len(set(paths))
    assert set(vss.BY_PATH) == set(paths)


@pytest.mark.parametrize("signal", vss.CATALOG, ids=lambda s: s.path)
def test_signal_becomes_the_cars_property(signal: vss.Signal) -> None:
    prop = SPECS["car"].properties[signal.path]
    assert prop.name == signal.path
    assert prop.unit == signal.unit
    assert prop.allowed == signal.allowed
    assert prop.writable is signal.writable
    assert prop.access == (Access.RWN if signal.writable else Access.RN)
    assert not prop.derived
    expected = {
        "boolean": Format.BOOL,
        "string": Format.STRING,
        "float": Format.FLOAT,
        "double": Format.FLOAT,
    }.get(signal.datatype, Format.INT)
    assert prop.format is expected
    if signal.minimum is not None:
        assert prop.minimum == signal.minimum
    if signal.maximum is not None:
        assert prop.maximum == signal.maximum


@pytest.mark.parametrize(
    ("datatype", "lo", "hi"),
    [
        ("uint8", 0, 255),
        ("uint16", 0, 65_535),
        ("uint32", 0, 4_294_967_295),
        ("int8", -128, 127),
        ("int16", -32_768, 32_767),
        ("int32", -2_147_483_648, 2_147_483_647),
    ],
)
def test_integer_datatypes_imply_their_range(datatype: str, lo: int, hi: int) -> None:
    prop = vss.Signal("Vehicle.X", datatype, "sensor").as_property()
    assert (prop.minimum, prop.maximum) == (lo, hi)
    assert prop.check(hi) == hi
    with pytest.raises(ValueError, match="out of range"):
        prop.check(hi + 1)
    # A range the standard gives wins over the datatype's.
    narrowed = vss.Signal("Vehicle.X", datatype, "sensor", minimum=0, maximum=100).as_property()
    assert (narrowed.minimum, narrowed.maximum) == (0, 100)


def test_car_has_exactly_the_catalog_plus_derived_properties() -> None:
    car = SPECS["car"].properties
    assert set(car) == {s.path for s in vss.CATALOG} | {PLACE, DISTANCE_TO_HOME}
    assert car[PLACE].derived
    assert car[DISTANCE_TO_HOME].derived
