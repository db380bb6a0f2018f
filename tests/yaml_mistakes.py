"""Configuration files for tests: the ``homes:`` section of one home, a file with one
mistake put in and the error ``parse_config`` raises for it, and the lines to find where
the error should point."""

from __future__ import annotations

import pytest

from carhome.compose.config import parse_config
from carhome.errors import ConfigError


def one_home(*devices: str) -> str:
    """The ``homes:`` section of a configuration file: home ``h1`` with ``devices``, each a
    YAML mapping on one line."""
    listed = "".join(f"      - {device}\n" for device in devices)
    return f"homes:\n  - id: h1\n    name: Home\n    lat: 39.79\n    lon: 116.5\n    devices:\n{listed}"


def line_of(text: str, needle: str) -> int:
    """The number of the first line of ``text`` that holds ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def mistake(good: str, old: str, new: str) -> tuple[str, ConfigError]:
    """``good`` with its one ``old`` made ``new``, and the error that text is refused with."""
    assert good.count(old) == 1, old
    text = good.replace(old, new)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="carhome.yaml")
    return text, caught.value


def refused_in(section: str, good: str, old: str, new: str, reason: str) -> ConfigError:
    """The error ``mistake`` gives: it says ``reason`` and points into ``section``, at its
    heading's line or below."""
    text, error = mistake(good, old, new)
    assert reason in str(error)
    assert error.line is not None
    assert error.line >= line_of(text, f"{section}:")
    return error
