"""A configuration file with one mistake put in: the error ``parse_config`` raises for it,
and the lines to find where the error should point."""

from __future__ import annotations

import pytest

from carhome.compose.config import parse_config
from carhome.errors import ConfigError


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
