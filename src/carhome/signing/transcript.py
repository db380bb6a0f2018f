"""Transcripts: the one canonical byte form of everything carhome signs or MACs.

A transcript is a sequence of fields, each ``tag (1 byte) · length (2 bytes, big-endian) ·
value``, in strictly ascending tag order, closed by the single byte ``0xff``. The first field
is always the scheme name (tag 1), which separates the kinds of transcript. A value is
UTF-8 text, raw bytes, a big-endian unsigned 32-bit integer, or a big-endian IEEE 754
double. Lengths make the encoding injective: different field lists give different bytes.
"""

from __future__ import annotations

import struct
from typing import Final

from carhome.errors import CarhomeError

END: Final = b"\xff"
MAX_VALUE: Final = 0xFFFF

_HEAD: Final = struct.Struct(">BH").pack
_U16: Final = struct.Struct(">H").pack
_U32: Final = struct.Struct(">I").pack
_DOUBLE: Final = struct.Struct(">d").pack


class TranscriptTooLong(CarhomeError, ValueError):
    """A field is longer than a transcript can carry (65,535 bytes)."""


class Tag:
    """Field tags. The numbers are part of the wire format: never renumber, only add."""

    SCHEME: Final = 0x01
    DOMAIN: Final = 0x02
    HOME: Final = 0x03
    DEVICE: Final = 0x04
    EPOCH: Final = 0x05
    EXPIRES_AT: Final = 0x06
    COUNTER: Final = 0x07
    COMMAND_ID: Final = 0x08
    KIND: Final = 0x09
    TARGET: Final = 0x0A
    ARGS: Final = 0x0B
    MEMBER: Final = 0x0C
    EXPIRES: Final = 0x0D
    PHONE_KEY: Final = 0x10
    DEVICE_KEY: Final = 0x11
    NONCE: Final = 0x12
    CLOCK: Final = 0x13
    ROLE: Final = 0x14
    CODE: Final = 0x15


def u32(value: int) -> bytes:
    return _U32(value)


def double(value: float) -> bytes:
    return _DOUBLE(value)


def transcript(scheme: str, *fields: tuple[int, bytes | str]) -> bytes:
    """The transcript of ``scheme`` and ``fields`` (tag, value); text is UTF-8 encoded."""
    return Layout(scheme, tuple(tag for tag, _ in fields)).encode(*(value for _, value in fields))


class Layout:
    """A fixed transcript shape (a scheme and its tags), checked once; ``encode`` fills it.

    The hot path (one command verified) encodes through a layout made at import time.
    """

    __slots__ = ("_heads", "_prefix", "tags")

    def __init__(self, scheme: str, tags: tuple[int, ...]) -> None:
        if (
            list(tags) != sorted(set(tags))
            or (tags and tags[0] <= Tag.SCHEME)
            or any(not 0 < tag < END[0] for tag in tags)
        ):
            raise ValueError(f"transcript tags must ascend after the scheme (1): {tags}")
        name = scheme.encode()
        self._prefix: Final = _HEAD(Tag.SCHEME, len(name)) + name
        self._heads: Final = tuple(bytes([tag]) for tag in tags)
        self.tags: Final = tags

    def encode(self, *values: bytes | str) -> bytes:
        if len(values) != len(self._heads):
            raise ValueError(f"this transcript has {len(self._heads)} fields, got {len(values)}")
        parts = [self._prefix]
        for head, value in zip(self._heads, values, strict=True):
            raw = value.encode() if isinstance(value, str) else value
            size = len(raw)
            if size > MAX_VALUE:
                raise TranscriptTooLong(f"field {head[0]:#04x} is {size} bytes; at most {MAX_VALUE}")
            parts.append(head)
            parts.append(_U16(size))
            parts.append(raw)
        parts.append(END)
        return b"".join(parts)
