"""Packages whose names load their modules on first use (PEP 562).

A connector package the configuration imports (for its config structs) must not load the
heavy library behind it (grpc, python-miio) until the connector is really used:
``__getattr__ = exports(__name__, {"Name": "package.module", ...})``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``where[name]`` when ``name`` is first asked for."""

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return attribute
