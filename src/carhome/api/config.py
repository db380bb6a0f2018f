"""The ``api:`` section: where the hub's HTTP server listens, and the proxies it believes."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from carhome import ports

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]

DEFAULT_API_PORT: Final = ports.API
"""Clear of Home Assistant's 8123, which often runs on the same machine."""


class ApiConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = DEFAULT_API_PORT
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``127.0.0.1``, ``10.0.0.0/8``) of reverse proxies whose
    ``X-Forwarded-For`` names the client; from anyone else the header is ignored."""
