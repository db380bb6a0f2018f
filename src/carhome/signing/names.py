"""The ids a device is known by: its home's and its own.

A device binds every session and signed command to its home and device ids, so it checks
them when its verifier is made. The rule is the hub's (``carhome.hub.model.check_name``;
a test keeps the two the same): a device needs no hub to check it.
"""

from __future__ import annotations

import re
from typing import Final

from carhome.errors import InvalidName

_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_name(kind: str, value: str) -> str:
    """``value`` if it is a valid id for a ``kind`` (home, device), else ``InvalidName``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidName(
            f"{kind} id {value!r} is not valid: use 1-63 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value
