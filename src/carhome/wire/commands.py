"""Commands on the wire: sending one, reading one back (optionally waiting), the recent ones.

The command itself is the hub's record (``carhome.hub.Command``), sent as it is.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from carhome.hub import Command
from carhome.hub.commands import DEFAULT_TTL

# A request may hold the connection this long waiting for a command's result; longer
# waits are the client's job (it asks again), so a slow device never pins a worker.
MAX_WAIT: Final = 60.0
MAX_LIMIT: Final = 1000


class CommandRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/devices/{home}/{device}/commands``."""

    kind: Literal["set", "action"]
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    ttl: Annotated[float, msgspec.Meta(gt=0)] = DEFAULT_TTL
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] | None = None


class CommandsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/commands``."""

    home: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = 50


class WaitQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Query of ``GET /api/commands/{id}``: optionally wait for the final result."""

    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] | None = None


class CommandList(msgspec.Struct, kw_only=True):
    """Recent commands, newest first (``now`` is hub time, for ages)."""

    commands: tuple[Command, ...]
    now: float
