"""How deeply a decoded JSON value nests: the depth limit of carhome's JSON edges.

msgspec builds nothing a typed struct has no room for, but a field typed ``Any`` (a
command's arguments, an ack's result, the values of a state message) takes whatever JSON
comes, nested as deep as msgspec's recursion guard allows (it raises ``RecursionError``
near a thousand levels). Code past the edge that walks such a value recursively — a spec
check, an encoder, a template — must not be the one to find out. So each edge decodes,
turns ``RecursionError`` into its own refusal, and asks ``deeper_than`` about the rest.

``deeper_than`` costs two ``count`` calls over the text when it opens no more brackets
than the limit (nearly every message), and one walk over the value's containers otherwise.
"""

from __future__ import annotations

from typing import Final

import msgspec

MAX_DEPTH: Final = 32
"""Levels of arrays and objects the JSON edges take (a command's arguments use three)."""


def deeper_than(raw: bytes | str, value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value``, decoded from ``raw``, nests more than ``limit`` containers deep."""
    opens = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if opens <= limit:
        return False
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: list[object] = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            children = list(item)
        elif isinstance(item, msgspec.Struct):
            children = [getattr(item, name) for name in item.__struct_fields__]
        else:
            continue
        if level > limit:
            return True
        stack += [
            (child, level + 1)
            for child in children
            if isinstance(child, dict | list | tuple | msgspec.Struct)
        ]
    return False
