"""The reported values the hub rejected, on the wire: ``GET /api/rejections``."""

from __future__ import annotations

import msgspec


class RejectionOut(msgspec.Struct, kw_only=True):
    home: str
    device: str
    property: str | None
    code: str
    reason: str
    allowed: str | None
    message: str


class Rejections(msgspec.Struct, kw_only=True):
    total: int
    counts: dict[str, int]
    last: tuple[RejectionOut, ...]
