"""The forms in which both database stores keep homes, devices, values and commands.

The SQLite and PostgreSQL stores write the same text to their ``data`` and ``value``
columns, so a database copied from one to the other (``carhome store copy``) is read back
unchanged. Encoders and decoders are made once, here (msgspec's are reusable and fast).
"""

from __future__ import annotations

from typing import Final

import msgspec

from carhome.hub.commands import Command
from carhome.hub.model import Device, Home

encode: Final = msgspec.json.Encoder().encode
decode_value: Final = msgspec.json.Decoder().decode
decode_home: Final = msgspec.json.Decoder(Home).decode
decode_device: Final = msgspec.json.Decoder(Device).decode
decode_command: Final = msgspec.json.Decoder(Command).decode

CommandRow = tuple[str, str, str, str, float, float, str]
"""A command's row: id, home, device, status, created, expires and the JSON of it all."""


def command_row(command: Command) -> CommandRow:
    """The row of ``command`` as it is now: encoded on the caller's side, as the router
    changes the command right after it returns, and what is written must be the command
    as it was when the call was made."""
    return (
        command.id,
        command.home,
        command.device,
        command.status.value,
        command.created,
        command.expires,
        encode(command).decode(),
    )
