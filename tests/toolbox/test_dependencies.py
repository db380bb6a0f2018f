"""Every dependency pyproject.toml declares is used: none is installed for nothing.

The hub's dependencies and the ``charts`` extra are imported by the package (an ``import``
statement, or ``importlib.import_module`` of a literal name) — or, for a wheel that only
carries a program, that program is named in the package. The ``dev`` extra's are imported
by the tests or benches, or are a tool the scripts run, a pytest plugin the configuration
sets, or the type stubs of a library the package imports. The distributions are matched to
what code imports by the installed metadata (``importlib.metadata``), not by their names.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
PYPROJECT: Final = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The dev extra's plugins and tools, and where each is put to use.
USED_BY_SETTING: Final = {
    "pytest-asyncio": ("pyproject.toml", "asyncio_mode"),
    "pytest-timeout": ("pyproject.toml", "\ntimeout ="),
    "pytest-cov": ("scripts/test", "--cov"),
    "ruff": ("scripts/check", ".venv/bin/ruff check"),
    "mypy": ("scripts/check", ".venv/bin/mypy"),
    "import-linter": ("scripts/check", ".venv/bin/lint-imports"),
}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports(directories: Iterable[Path]) -> set[str]:
    """The top-level modules the code under ``directories`` imports."""
    found: set[str] = set()
    for directory in directories:
        for path in directory.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.partition(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.partition(".")[0])
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.add(node.args[0].value.partition(".")[0])
    return found


def _providers(modules: set[str]) -> set[str]:
    """The installed distributions that provide ``modules``."""
    by_module = importlib.metadata.packages_distributions()
    return {_name(dist) for module in modules for dist in by_module.get(module, ())}


def _programs(distribution: str) -> list[str]:
    """The programs a distribution installs (``bin/…``)."""
    files = importlib.metadata.distribution(distribution).files or ()
    return [f.name for f in files if f.parent.name == "bin"]


def _unused(declared: list[str], providers: set[str], named_in: str) -> list[str]:
    return [
        name
        for name in declared
        if name not in providers and not any(program in named_in for program in _programs(name) or ())
    ]


def test_the_hubs_dependencies_and_the_charts_extra_are_used_by_the_package() -> None:
    project = PYPROJECT["project"]
    declared = [_name(r) for r in (*project["dependencies"], *project["optional-dependencies"]["charts"])]
    providers = _providers(_imports([ROOT / "src"]))
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    unused = _unused(declared, providers, source)
    print(f"\ndependencies: {len(declared)} declared (with the charts extra), unused: {len(unused)}")
    assert unused == [], f"declared in pyproject.toml, used nowhere in src: {unused}; remove them"


def test_the_dev_extras_are_used_by_the_tests_benches_scripts_or_settings() -> None:
    declared = [
        _name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"] if _name(r) != "carhome"
    ]
    imported = _imports([ROOT / "src", ROOT / "tests", ROOT / "bench"])
    providers = _providers(imported)
    stubs = {name for name in declared if name.startswith("types-") and _stubbed(name) & imported}
    set_up = {
        name
        for name, (file, setting) in USED_BY_SETTING.items()
        if name in declared and setting in (ROOT / file).read_text()
    }
    unused = [name for name in declared if name not in providers | stubs | set_up]
    print(f"\ndev dependencies: {len(declared)} declared, unused: {len(unused)}")
    assert unused == [], f"declared in the dev extra, used by nothing: {unused}; remove them"


def _stubbed(stubs: str) -> set[str]:
    """The modules a ``types-…`` distribution types (its ``<module>-stubs`` directories)."""
    files = importlib.metadata.distribution(stubs).files or ()
    return {f.parts[0].removesuffix("-stubs") for f in files if f.parts and f.parts[0].endswith("-stubs")}
