"""Signing stands apart from access: the import graph, read from the source, says so.

``carhome.signing`` is the protocol phones, the relay and devices share: its modules reach
only the protocol itself, errors, the clock, device specs (for the safety domains), the id
rule (``carhome.names``, the hub's own), ``carhome.private`` (file modes) and
``carhome.files`` (atomic writes) — no hub, no wire, no policy, no face. The phone's client
of the hub's key routes (``carhome.wire.keyclient``) stands on the wire, and still reaches no
access, API or CLI. Devices, connectors, the simulator and the test doubles embed signing
without access. Imports are followed transitively through the modules of ``src/carhome``, package
``__init__``s included (the root's exports aside: every module sits below it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"
ROOT = "carhome"

PROTOCOL_MAY_REACH = (
    "carhome.signing",
    "carhome.errors",
    "carhome.clock",
    "carhome.spec",
    "carhome.names",
    "carhome.private",
    "carhome.files",
)
ABOVE_SIGNING = ("carhome.access", "carhome.api", "carhome.cli")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in (SRC / ROOT).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _packages(name: str) -> Iterator[str]:
    """``name`` and the packages whose ``__init__`` importing it runs (the root's aside)."""
    parts = name.split(".")
    for end in range(2, len(parts) + 1):
        yield ".".join(parts[:end])


@cache
def _direct(name: str) -> frozenset[str]:
    """The carhome modules ``name`` imports, as written in its source."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from carhome.x import y`` imports the module ``carhome.x.y`` when there is one
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target in MODULES:
                found.update(p for p in _packages(target) if p in MODULES)
    found.discard(name)
    return frozenset(found)


@cache
def reach(name: str) -> frozenset[str]:
    """Every carhome module importing ``name`` runs, found by following imports."""
    seen: set[str] = set()
    todo = [name, *(p for p in _packages(name) if p != name and p in MODULES)]
    while todo:
        module = todo.pop()
        for imported in _direct(module):
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    seen.discard(name)
    return frozenset(seen)


def _paths_to(name: str, forbidden: tuple[str, ...]) -> list[str]:
    """For each forbidden module ``name`` reaches, one chain of imports that gets there."""
    chains: list[str] = []
    parents: dict[str, str] = {}
    todo = [name]
    seen = {name}
    while todo:
        module = todo.pop(0)
        for imported in sorted(_direct(module)):
            if imported in seen:
                continue
            seen.add(imported)
            parents[imported] = module
            if _within(imported, forbidden):
                chain = [imported]
                while chain[-1] != name:
                    chain.append(parents[chain[-1]])
                chains.append(" → ".join(reversed(chain)))
            else:
                todo.append(imported)
    return chains


def _of(prefix: str) -> list[str]:
    return sorted(m for m in MODULES if _within(m, (prefix,)))


SIGNING = _of("carhome.signing")
PROTOCOL = SIGNING
EMBEDDERS = [*_of("carhome.connectors"), *_of("carhome.mqtt"), *_of("carhome.sim"), *_of("carhome.testing")]


def test_the_graph_is_read() -> None:
    assert "carhome.signing.verifier" in PROTOCOL
    assert "carhome.access.gatekeeper" in reach("carhome.compose.runtime")
    # a chain through a package's __init__ and a ``from package import module`` is followed
    assert "carhome.signing.transcript" in reach("carhome.mqtt.device")
    assert "carhome.hub.commands" in reach("carhome.wire.keyclient")
    assert "carhome.signing.session" in reach("carhome.wire.keys")
    # the file helpers the protocol may use stand on nothing else of carhome
    assert reach("carhome.files") == {"carhome.private"}
    # and so does the id rule the hub and the protocol share
    assert reach("carhome.names") == {"carhome.errors"}


@pytest.mark.parametrize("module", PROTOCOL)
def test_the_protocol_reaches_no_hub_wire_policy_or_face(module: str) -> None:
    beyond = sorted(m for m in reach(module) if not _within(m, PROTOCOL_MAY_REACH))
    assert beyond == [], _paths_to(module, tuple(beyond))


@pytest.mark.parametrize("module", [*SIGNING, "carhome.wire.keyclient"])
def test_signing_imports_no_access_api_or_cli(module: str) -> None:
    assert _paths_to(module, ABOVE_SIGNING) == []


@pytest.mark.parametrize("module", EMBEDDERS)
def test_devices_connectors_and_doubles_import_no_access(module: str) -> None:
    assert _paths_to(module, ("carhome.access",)) == []


def test_below_access_nothing_imports_access() -> None:
    below = [
        *PROTOCOL,
        *SIGNING,
        "carhome.wire.keyclient",
        *EMBEDDERS,
        *_of("carhome.wire"),
        *_of("carhome.hub"),
        *_of("carhome.spec"),
    ]
    found = sorted({chain for m in below for chain in _paths_to(m, ("carhome.access",))})
    print(f"modules below access checked: {len(set(below))}, importing access: {len(found)}")
    assert found == []
