"""Reading automations from YAML files: decode at the edge, report each bad one, load the rest.

A file holds a list of automations, or a mapping with ``automations:`` and an optional
``home:`` that the automations default to. Each automation is decoded on its own into an
``Automation`` struct; one that does not decode (unknown key, wrong type, missing field)
is reported as a ``ConfigError`` with its file and line and what was expected, and the
others still load. A ``Source`` keeps the YAML node so errors found later, when the engine
binds the automation to the hub (an unknown device), point at the right line too.

The text is parsed within ``carhome.boundedyaml.AUTOMATIONS`` (size, nesting, aliases): a
member can send one through the API, and the API parses it on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import msgspec
import yaml

from carhome import boundedyaml
from carhome.automations.automation import Automation
from carhome.automations.binding import Path
from carhome.automations.blueprints import BlueprintError, expand
from carhome.boundedyaml import YamlDocument
from carhome.errors import ConfigError

_AT = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an automation was written: file, and its YAML node to find lines by path."""

    file: str
    node: yaml.Node | None = None

    @property
    def line(self) -> int | None:
        return None if self.node is None else self.node.start_mark.line + 1

    def line_of(self, path: Path) -> int | None:
        """The line of the deepest node on ``path`` that exists."""
        node = self.node
        if node is None:
            return None
        for step in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == step:
                        child = value
                        break
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value)
            ):
                child = node.value[step]
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    def error(self, path: Path, message: str) -> ConfigError:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return ConfigError(
            f"{where}: {message}" if where else message, file=self.file, line=self.line_of(path)
        )


@dataclass(slots=True)
class Loaded:
    """What a load gave: the automations that decoded, and an error for each that did not."""

    automations: list[tuple[Automation, Source]] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


def _python(document: YamlDocument, node: yaml.Node) -> Any:
    """The document's Python value. A plain walk over the nodes: several times faster than
    PyYAML's constructor for the strings, lists and mappings automations are made of; other
    scalars (numbers, booleans, null) and merge keys still go through PyYAML's own rules.
    It recurses as deep as the document nests, which ``boundedyaml`` has bounded."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR else document.construct(node)
    if isinstance(node, yaml.SequenceNode):
        return [_python(document, item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        if any(key.tag == _MERGE for key, _ in node.value):
            return document.construct(node)
        # Keys as written: YAML 1.1 would read a key ``on`` (a light's property) as true.
        return {
            key.value if isinstance(key, yaml.ScalarNode) else _python(document, key): _python(
                document, value
            )
            for key, value in node.value
        }
    return document.construct(node)


def _path(text: str) -> Path:
    return tuple(int(i) if i else k for k, i in _STEP.findall(text))


def _decode(data: Any, node: yaml.Node, file: str, home: str | None, scenes: Any = None) -> Automation:
    source = Source(file, node)
    if isinstance(data, dict) and "use" in data:
        try:
            data = expand(data)
        except BlueprintError as exc:
            raise source.error(exc.path, exc.message) from None
    if isinstance(data, dict) and home is not None:
        data.setdefault("home", home)
    if isinstance(data, dict) and isinstance(scenes, dict):
        data["scenes"] = {**scenes, **(data.get("scenes") or {})}
    try:
        return msgspec.convert(data, Automation)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _AT.match(text)
        message, path = (match.group(1), _path(match.group(2))) if match else (text, ())
        unknown = _UNKNOWN.search(message)
        if unknown:
            path = (*path, unknown.group(1))
            message = f"{message}; check the spelling against the automation format"
        raise source.error(path, message) from None


def load_text(text: str, file: str = "<text>") -> Loaded:
    """Decode every automation in one YAML document."""
    loaded = Loaded()
    try:
        document = boundedyaml.compose(text, file=file, limits=boundedyaml.AUTOMATIONS)
        root = document.root
        data = None if root is None else _python(document, root)
    except ConfigError as exc:
        loaded.errors.append(exc)
        return loaded
    except yaml.YAMLError as exc:  # a scalar PyYAML cannot construct (a bad !!timestamp …)
        mark = getattr(exc, "problem_mark", None)
        loaded.errors.append(
            ConfigError(
                f"not valid YAML: {getattr(exc, 'problem', exc)}",
                file=file,
                line=None if mark is None else mark.line + 1,
            )
        )
        return loaded
    if root is None or data is None:
        return loaded
    home: str | None = None
    scenes: Any = None
    items, nodes = data, root
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"home", "automations", "scenes"})
        if unknown:
            loaded.errors.append(
                Source(file, root).error(
                    (unknown[0],), "unknown key; a file holds 'home:', 'scenes:' and 'automations:'"
                )
            )
            return loaded
        home = data.get("home")
        scenes = data.get("scenes")
        items = data.get("automations") or []
        nodes = next((v for k, v in root.value if k.value == "automations"), root)
    if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
        loaded.errors.append(
            ConfigError("expected a list of automations", file=file, line=nodes.start_mark.line + 1)
        )
        return loaded
    for item, node in zip(items, nodes.value, strict=True):
        try:
            loaded.automations.append((_decode(item, node, file, home, scenes), Source(file, node)))
        except ConfigError as exc:
            loaded.errors.append(exc)
    return loaded


def _files(path: FsPath) -> Iterable[FsPath]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return (path,)


def load_path(path: str | FsPath) -> Loaded:
    """Decode every automation of a file, or of every ``*.yaml``/``*.yml`` under a directory."""
    loaded = Loaded()
    root = FsPath(path)
    if not root.exists():
        loaded.errors.append(ConfigError("no such file or directory", file=str(root)))
        return loaded
    for file in _files(root):
        try:
            text = boundedyaml.read_text(file, limits=boundedyaml.AUTOMATIONS)
        except (OSError, UnicodeDecodeError) as exc:
            loaded.errors.append(ConfigError(f"cannot read: {exc}", file=str(file)))
            continue
        except ConfigError as exc:
            loaded.errors.append(exc)
            continue
        one = load_text(text, str(file))
        loaded.automations += one.automations
        loaded.errors += one.errors
    return loaded
