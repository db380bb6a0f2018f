"""The ``ocpp:`` section: where the OCPP central system listens, its chargers and id tokens."""

from __future__ import annotations

from typing import Annotated

import msgspec

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class OcppChargerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One OCPP charger: the device it is, and its HTTP Basic password (or a file holding it)."""

    home: str
    device: str
    password: str | None = None
    password_file: str | None = None
    """A file whose first line is the password (relative paths: to the config file)."""

    def __repr__(self) -> str:  # never print the password
        return f"OcppChargerConfig(home={self.home!r}, device={self.device!r})"


class OcppConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The OCPP 1.6J / 2.0.1 central system chargers connect to (ws://host:port/ocpp/{id})."""

    host: str = "127.0.0.1"
    port: Port = 9000
    chargers: dict[str, OcppChargerConfig] = {}
    """Charger id (the last part of the WebSocket path) → its device and password."""
    id_tokens: dict[str, str] = {}
    """RFID tag or other id token → the member it belongs to."""
