"""The bombs: inputs small to send and costly to take, for every YAML and JSON decoder.

Each maker returns the text or bytes of one kind of bomb, sized by its arguments:

- ``alias_bomb``: nested YAML aliases, ``width ** levels`` values from a few hundred bytes
  (the billion laughs: 9 levels of 10 is 500 bytes, like the 430 that froze a hub 47 s);
- ``merge_bomb``: the same through ``<<:`` merge keys, mappings instead of lists;
- ``recursive_alias``: an alias inside the node it names;
- ``deep_flow`` / ``deep_block``: YAML nested ``depth`` levels, in brackets or by indentation;
- ``dense_yaml``: a flow list of one-character items, the most values per byte;
- ``deep_json``: JSON nested ``depth`` levels, under ``key`` when given;
- ``wide_json``: a JSON array of ``count`` empty arrays;
- ``random_names``: a JSON object of ``count`` random property names.
"""

from __future__ import annotations

import itertools
import random
import string

import msgspec


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    names = [f"l{i}" for i in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [" + ",".join(["lol"] * width) + "]"]
    for below, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * width) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: lol" for i in range(width)) + "}"]
    for level in range(1, levels + 1):
        items = ", ".join(f"k{i}: *m{level - 1}" for i in range(width))
        lines.append(f"m{level}: &m{level} {{<<: *m{level - 1}, {items}}}")
    return "\n".join(lines) + "\n"


def recursive_alias() -> str:
    return "a: &a [1, *a]\n"


def deep_flow(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def deep_block(depth: int) -> str:
    return "".join(f"{' ' * level}k{level}:\n" for level in range(depth)) + " " * depth + "v\n"


def dense_yaml(chars: int) -> str:
    return "[" + ",".join(["a"] * (chars // 2 - 1)) + "]"


def deep_json(depth: int, key: str | None = None) -> bytes:
    nested = b"[" * depth + b"]" * depth
    return nested if key is None else b'{"' + key.encode() + b'": ' + nested + b"}"


def wide_json(count: int) -> bytes:
    return b"[" + b",".join([b"[]"] * count) + b"]"


def random_names(count: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    names = ("".join(rng.choices(string.ascii_lowercase, k=12)) for _ in range(count))
    return msgspec.json.encode(dict.fromkeys(names, 1))
