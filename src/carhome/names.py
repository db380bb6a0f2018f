"""The rule for ids: the hub's records, the topics and a device's verifier all check by it.

An id (of a home, device, place, member…) is 1-63 lower-case letters, digits, ``-`` and
``_``, starting with a letter or digit, so it is safe in MQTT topics, URLs and file names. It
sits below the hub and the signing protocol alike, so a device checks its ids by the hub's
rule without importing the hub.
"""

from __future__ import annotations

import re
from typing import Final

from carhome.errors import InvalidName

_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_name(kind: str, value: str) -> str:
    """``value`` if it is a valid id for a ``kind`` (home, device, place), else ``InvalidName``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidName(
            f"{kind} id {value!r} is not valid: use 1-63 lower-case letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value
