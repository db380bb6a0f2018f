"""What a miIO configuration needs without loading python-miio: the port and token format."""

from __future__ import annotations

from typing import Final

from carhome.errors import ConfigError

PORT: Final = 54321


def check_token(token: str) -> bytes:
    """The 16 bytes of a token written as 32 hex digits, or ``ConfigError`` saying so."""
    try:
        raw = bytes.fromhex(token)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 16:
        raise ConfigError(
            f"a miIO token is 32 hexadecimal digits (16 bytes), got {len(token)} characters;"
            " read it from the Mi Home app's database or the Xiaomi cloud"
        )
    return raw
