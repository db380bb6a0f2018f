"""Durations as written in automations: ``90``, ``90s``, ``5m``, ``1h30m``, ``00:05:00``."""

from __future__ import annotations

import math
import re

from carhome.automations.binding import BindError, Path

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?")


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def seconds(value: float | str, path: Path) -> float:
    """A duration: a number of seconds, ``1h30m``, ``90s``, ``2.5m`` or ``HH:MM:SS``."""
    if isinstance(value, int | float):
        out = float(value)
        if not math.isfinite(out):
            raise BindError(path, "a duration must be a finite number of seconds")
    elif ":" in value:
        parts = value.split(":")
        # Digits only: float() would also take "nan", "inf" and "1e3".
        nums = [float(p) for p in parts] if all(_NUMBER.fullmatch(p) for p in parts) else []
        if len(nums) not in (2, 3):
            raise BindError(path, f"duration {value!r}: expected HH:MM:SS, MM:SS, 90s, 5m or 1h")
        out = sum(n * 60**k for k, n in enumerate(reversed(nums)))
    else:
        match = _DURATION.fullmatch(value.strip())
        if not value.strip() or match is None:
            raise BindError(path, f"duration {value!r}: expected seconds, 90s, 5m, 1h30m or HH:MM:SS")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        out = h * 3600 + m * 60 + s
    if out < 0:
        raise BindError(path, "a duration cannot be negative")
    return out


def signed_seconds(value: float | str, path: Path) -> float:
    """A duration that may be negative (an offset): ``-30m``, ``+1h``, ``-90``."""
    if isinstance(value, str) and value.strip()[:1] in "+-" and value.strip():
        text = value.strip()
        magnitude = seconds(text[1:], path)
        return -magnitude if text[0] == "-" else magnitude
    if isinstance(value, int | float):
        return float(value)
    return seconds(value, path)
