"""The layering of the design, read from the source: spec → hub → parts → composition → faces.

Modules are grouped by package (``carhome.hub``, ``carhome.access``; each connector is its
own, ``carhome.connectors.ocpp``), every import counted wherever it is written (inside a
function too). The package graph has no cycle, is at most seven levels deep, and only the
composition and the faces import a face. ``scripts/check`` runs import-linter's contracts
over the same layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
MAX_LEVELS = 7
FACES = ("carhome.api", "carhome.cli")
MAY_IMPORT_FACES = ("carhome.api", "carhome.cli", "carhome.compose")
PARTS = (
    "carhome.access",
    "carhome.api",
    "carhome.automations",
    "carhome.energy",
    "carhome.history",
    "carhome.say",
    "carhome.sim",
)


def package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "connectors":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted((SRC / "carhome").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


@cache
def graph() -> dict[str, dict[str, list[str]]]:
    """package → imported package → the modules that import it."""
    found: dict[str, dict[str, list[str]]] = {}
    for module, path in _modules():
        here = package_of(module)
        found.setdefault(here, {})
        for name in _imports(module, path):
            if not name.startswith("carhome."):
                continue
            there = package_of(name)
            if there != here and there != "carhome" and (there in found or _exists(there)):
                found[here].setdefault(there, []).append(module)
    return found


def _exists(package: str) -> bool:
    tail = package.split(".")[1:]
    base = SRC / "carhome" / Path(*tail)
    return base.with_suffix(".py").exists() or base.is_dir()


def _cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def levels(edges: dict[str, dict[str, list[str]]]) -> dict[str, int]:
    """Each package's level: 1 for one that imports no other, else one above its highest import."""
    found: dict[str, int] = {}

    def level(v: str, seen: tuple[str, ...] = ()) -> int:
        if v not in found:
            below = [level(w, (*seen, v)) for w in edges.get(v, {}) if w not in seen]
            found[v] = 1 + max(below, default=0)
        return found[v]

    for v in edges:
        level(v)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "carhome.hub" in edges["carhome.compose"]
    assert "carhome.spec" in edges["carhome.hub"]
    assert "carhome.mqtt" in edges["carhome.connectors.homeassistant"]
    assert levels({"a": {"b": []}, "b": {"c": []}, "c": {}}) == {"a": 3, "b": 2, "c": 1}
    assert _cycles({"a": {"b": []}, "b": {"a": []}, "c": {}}) == [["a", "b"]]


def test_no_package_imports_a_package_that_imports_it_back() -> None:
    assert _cycles(graph()) == []


def test_the_imports_stack_at_most_seven_levels() -> None:
    found = levels(graph())
    deepest = max(found.values())
    cycles = len(_cycles(graph()))
    print(f"import levels: {deepest} of at most {MAX_LEVELS}, packages: {len(found)}, cycles: {cycles}")
    chain = sorted(found, key=found.__getitem__, reverse=True)
    assert deepest <= MAX_LEVELS, [(p, found[p]) for p in chain[:8]]


def test_only_the_composition_and_the_faces_import_a_face() -> None:
    wrong = {
        (package, face, module)
        for package, imports in graph().items()
        if package not in MAY_IMPORT_FACES
        for face in FACES
        for module in imports.get(face, [])
    }
    assert sorted(wrong) == []


def test_parts_do_not_import_each_other() -> None:
    parts = {p for p in graph() if p in PARTS or p.startswith("carhome.connectors.")}
    wrong = sorted(
        (package, other, module)
        for package in parts
        for other, modules in graph()[package].items()
        if other in parts
        for module in modules
    )
    print(f"parts: {len(parts)}, imports between them: {len(wrong)}")
    assert wrong == []


def test_the_composition_and_the_faces_sit_on_top() -> None:
    found = levels(graph())
    assert found["carhome.cli"] == max(found.values())
    assert found["carhome.compose"] == found["carhome.cli"] - 1
    for part in PARTS:
        assert found[part] < found["carhome.compose"], part
