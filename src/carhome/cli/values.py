"""How the CLI reads values typed on the command line.

A value is a JSON scalar when it reads as one (``true``, ``24``, ``24.5``, ``"x"``,
``null``) and the text itself otherwise, so ``mode=auto`` needs no quotes and
``name='"24"'`` still sends a string. The hub checks the value against the spec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
import msgspec


def parse_value(text: str) -> Any:
    """``text`` as a JSON scalar if it is one, else the text unchanged."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return text  # objects and arrays are not values a property or argument takes


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["temperature=22", "mode=auto"]`` as ``{"temperature": 22, "mode": "auto"}``."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"{item!r} is not ARG=VALUE (e.g. temperature=22)", param_hint="ARG=VALUE"
            )
        if name in out:
            raise click.BadParameter(f"argument {name!r} is given twice", param_hint="ARG=VALUE")
        out[name] = parse_value(text)
    return out
