"""How the CLI prints: aligned tables for people, JSON for scripts, values and ages in words."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import click
import msgspec


def charts() -> ModuleType:
    """``carhome.cli.charts``, or a clear error when matplotlib (the ``charts`` extra)
    is not installed: only the commands that draw need it."""
    try:  # matplotlib loads only to draw
        module = importlib.import_module("carhome.cli.charts")
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("matplotlib"):
            raise
        raise click.ClickException(
            "drawing a chart needs matplotlib, which this install does not have: install the"
            " charts extra (pip install 'carhome[charts]'), or run scripts/test once, which installs it"
        ) from None
    return module


class ChartFile(click.ParamType[Path]):
    """Where to write a chart: a ``.svg`` or ``.png`` file in a folder that exists, checked
    before the hub is asked, so a mistake costs nothing."""

    name = "FILE.svg|png"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = value if isinstance(value, Path) else Path(str(value))
        if path.suffix.lower() not in (".svg", ".png"):
            self.fail(
                f"{path.name!r}: write the chart as .svg or .png (e.g. {path.stem or 'chart'}.svg)",
                param,
                ctx,
            )
        folder = path.parent
        if not folder.is_dir():
            self.fail(
                f"there is no folder {str(folder)!r} to write {path.name!r} in:"
                " create it first, or choose another",
                param,
                ctx,
            )
        if path.is_dir():
            self.fail(f"{str(path)!r} is a folder: give a file name ending in .svg or .png", param, ctx)
        return path


def echo_json(value: Any) -> None:
    """Print ``value`` (structs included) as indented JSON."""
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def echo_result(value: Any, text: str, *, as_json: bool) -> None:
    """Print a command's result: ``value`` as JSON for a script (``--json``), else ``text``."""
    if as_json:
        echo_json(value)
    else:
        click.echo(text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, columns padded to their widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def value_text(value: Any) -> str:
    """A value as a person reads it: JSON words for booleans and null, floats trimmed."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


_SYMBOLS: Final = {"percent": "%", "celsius": "°C", "degrees": "°", "ug/m3": "µg/m³", "m2": "m²"}
"""Spec units (as the API names them) and how people write them."""


def reading(value: Any, unit: str | None) -> tuple[str, str]:
    """A value and its unit as people write them: a range of 305000 m is ``305`` ``km``,
    ``celsius`` is ``°C``, ``percent`` is ``%``."""
    if unit == "m":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = round(value / 1000.0, 1)
        return value_text(value), "km"
    if unit is None:
        return value_text(value), ""
    return value_text(value), _SYMBOLS.get(unit, unit)


def counted(count: int, noun: str) -> str:
    """``1 trip``, ``2 trips``, ``0 trips``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def age_text(seconds: float) -> str:
    """``12s``, ``5m``, ``3h``, ``2d``: how long ago, coarsely."""
    seconds = max(0.0, seconds)
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def online_text(online: bool | None) -> str:
    return "?" if online is None else ("yes" if online else "no")
