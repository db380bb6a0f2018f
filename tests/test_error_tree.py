"""One error tree: every exception class in carhome is a ``CarhomeError``, drawn in ``carhome.errors``.

The first test imports every module of the package and fails on an exception class outside
the tree; the second reads the tree drawn in ``carhome.errors``' docstring and holds it to
the classes in the code (names, modules, parents), so the drawing cannot drift.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import carhome
import carhome.errors
from carhome.errors import CarhomeError

# Private exceptions used for control flow inside one module, never seen outside it.
CONTROL_FLOW = {
    "carhome.compose.config._Problem": "raised and caught inside the config loader, which re-raises it as a"
    " ConfigError once it knows the file and line",
    "carhome.automations.loader._Unexplained": "stops the loader's decoding past the errors worth"
    " explaining; caught in the same module",
    "carhome.connectors.miio.connector._Unmapped": "a target the model's table lacks; caught in the"
    " same module and answered as a failed ack",
    "carhome.connectors.zigbee2mqtt.connector._Refused": "a command the connector will not send;"
    " caught in the same module and answered as a failed ack",
    "carhome.testing.miio_device._Refused": "a packet the simulated device drops (a real device"
    " answers nothing); caught in the same module",
}

_TREE_LINE = re.compile(
    r"^(?P<indent>[ │├└─]*)(?P<name>[A-Za-z_]\w*)(?:\s+\((?P<module>carhome(?:\.\w+)+)\))?"
)


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of carhome, by ``module.qualname``."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(carhome.__path__, "carhome."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def drawn_tree(doc: str) -> dict[str, tuple[str, str | None]]:
    """The tree drawn in ``doc``: class name → (module, parent name)."""
    lines = doc.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() == "CarhomeError")
    base = len(lines[first]) - len(lines[first].lstrip())
    tree: dict[str, tuple[str, str | None]] = {}
    stack: list[tuple[int, str, str]] = []  # (depth, name, module) of the open branches
    for line in lines[first:]:
        if not line.strip():
            break
        match = _TREE_LINE.match(line[base:])
        assert match is not None, f"not a line of the tree: {line!r}"
        depth = len(match["indent"]) // 4
        name = match["name"]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1] if stack else None
        module = match["module"] or (parent[2] if parent else "carhome.errors")
        assert name not in tree, f"{name} is drawn twice"
        tree[name] = (module, parent[1] if parent else None)
        stack.append((depth, name, module))
    return tree


def test_every_exception_class_in_the_package_is_a_carhome_error() -> None:
    classes = exception_classes()
    outside = sorted(
        name
        for name, cls in classes.items()
        if not issubclass(cls, CarhomeError) and name not in CONTROL_FLOW
    )
    print(f"exception classes: {len(classes)}, outside the tree: {len(outside)}")
    assert outside == [], f"derive these from CarhomeError (or a branch of it): {outside}"
    # every allowance names a class that exists and still needs it
    for name in CONTROL_FLOW:
        assert name in classes, f"{name} is gone: drop its allowance"
        assert not issubclass(classes[name], CarhomeError), f"{name} is in the tree now: drop its allowance"
        assert name.rpartition(".")[2].startswith("_"), f"only a private class may stay outside: {name}"


def test_the_tree_drawn_in_the_errors_docstring_is_the_tree_in_the_code() -> None:
    drawn = drawn_tree(carhome.errors.__doc__ or "")
    in_code: dict[str, tuple[str, str | None]] = {}
    for name, cls in exception_classes().items():
        if not issubclass(cls, CarhomeError):
            continue
        parents = [base.__name__ for base in cls.__bases__ if issubclass(base, CarhomeError)]
        assert len(parents) <= 1, f"{name} has more than one parent in the tree: {parents}"
        assert cls.__name__ not in in_code, f"two errors are named {cls.__name__}: rename one"
        in_code[cls.__name__] = (cls.__module__, parents[0] if parents else None)
    print(f"errors drawn: {len(drawn)}, in the code: {len(in_code)}")
    assert sorted(set(in_code) - set(drawn)) == [], "draw these in carhome.errors' docstring"
    assert sorted(set(drawn) - set(in_code)) == [], "these are drawn but not in the code"
    wrong = {name: (drawn[name], in_code[name]) for name in drawn if drawn[name] != in_code[name]}
    assert wrong == {}, "drawn (module, parent) vs the code's"


def test_the_tree_reader_sees_a_drift() -> None:
    """The reader of the drawing is strict: a class drawn on another branch is a difference."""
    doc = carhome.errors.__doc__ or ""
    assert drawn_tree(doc)["CommandTimeout"] == ("carhome.errors", "CommandError")
    assert drawn_tree(doc)["MiioExpired"] == ("carhome.connectors.miio.client", "MiioError")
    moved = doc.replace("    │   ├── CommandTimeout", "    ├── CommandTimeout    ", 1)
    assert moved != doc
    assert drawn_tree(moved)["CommandTimeout"] == ("carhome.errors", "CarhomeError")
