"""Reading automations from YAML files: decode at the edge, report each bad one, load the rest.

A file holds a list of automations (at most ``MAX_AUTOMATIONS``), or a mapping with
``automations:`` and an optional ``home:`` that the automations default to. Each automation
is decoded on its own into an ``Automation`` struct; one that does not decode (unknown key,
wrong type, missing field) is reported as a ``ConfigError`` with its file and line and what
was expected (past ``MAX_ERRORS`` of them, one more error counts the rest), and the others
still load. A ``Source`` keeps the YAML node so errors found later, when the engine binds
the automation to the hub (an unknown device), point at the right line too.

The text is parsed within ``carhome.boundedyaml.AUTOMATIONS`` (size, nesting, aliases): an
owner can send one through the API, which parses it on the event loop — several times for
one request (to write its member in, to check it, to save it). So the last few texts stay
composed (``_RECENT``): a text already seen is not parsed again.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Final

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


MAX_AUTOMATIONS: Final = 100
"""Automations one text may hold."""
MAX_ERRORS: Final = 20
"""Automations of one text whose errors are each explained; the rest are counted in one more."""
_RECENT: Final = 4
_recent: OrderedDict[str, yaml.Node | ConfigError | None] = OrderedDict()
_recent_lock: Final = threading.Lock()


def _compose(text: str, file: str) -> YamlDocument:
    """``boundedyaml.compose`` of ``text``, or of the same text a moment ago."""
    if len(text) > boundedyaml.AUTOMATIONS.chars or "<<" in text:
        # refused at once, again; or with merge keys, whose nodes constructing them rewrites
        return boundedyaml.compose(text, file=file, limits=boundedyaml.AUTOMATIONS)
    with _recent_lock:
        known = text in _recent
        if known:
            _recent.move_to_end(text)
            composed = _recent[text]
    if not known:
        try:
            composed = boundedyaml.compose(text, file=file, limits=boundedyaml.AUTOMATIONS).root
        except ConfigError as exc:
            composed = exc
        with _recent_lock:
            _recent[text] = composed
            while len(_recent) > _RECENT:
                _recent.popitem(last=False)
    if isinstance(composed, ConfigError):
        raise ConfigError(composed.reason, file=file, line=composed.line)
    return YamlDocument(composed)


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


class _Unexplained(Exception):
    """An automation that does not decode, past the ``MAX_ERRORS`` worth explaining."""


def _decode(
    data: Any, node: yaml.Node, file: str, home: str | None, scenes: Any = None, *, explain: bool = True
) -> Automation:
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
        if not explain:
            raise _Unexplained from None
        text = str(exc)
        match = _AT.match(text)
        message, path = (match.group(1), _path(match.group(2))) if match else (text, ())
        unknown = _UNKNOWN.search(message)
        if unknown:
            path = (*path, unknown.group(1))
            message = f"{message}; check the spelling against the automation format"
        raise source.error(path, message) from None


@dataclass(frozen=True, slots=True)
class _Contents:
    """What a file of automations holds, before each automation is decoded."""

    home: str | None
    scenes: Any
    items: list[Any]
    nodes: yaml.SequenceNode


def _contents(text: str, file: str) -> _Contents | None:
    """The automations of ``text`` (``None`` when it is empty), or ``ConfigError`` when it is
    no file of automations."""
    try:
        document = _compose(text, file)
        root = document.root
        data = None if root is None else _python(document, root)
    except yaml.YAMLError as exc:  # a scalar PyYAML cannot construct (a bad !!timestamp …)
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=file,
            line=None if mark is None else mark.line + 1,
        ) from None
    if root is None or data is None:
        return None
    home: str | None = None
    scenes: Any = None
    items, nodes = data, root
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"home", "automations", "scenes"})
        if unknown:
            raise Source(file, root).error(
                (unknown[0],), "unknown key; a file holds 'home:', 'scenes:' and 'automations:'"
            )
        home = data.get("home")
        scenes = data.get("scenes")
        items = data.get("automations") or []
        nodes = next((v for k, v in root.value if k.value == "automations"), root)
    if not isinstance(items, list) or not isinstance(nodes, yaml.SequenceNode):
        raise ConfigError("expected a list of automations", file=file, line=nodes.start_mark.line + 1)
    if len(items) > MAX_AUTOMATIONS:
        raise ConfigError(
            f"{len(items)} automations in one file, more than {MAX_AUTOMATIONS};"
            " split them into several files",
            file=file,
            line=nodes.start_mark.line + 1,
        )
    return _Contents(home, scenes, items, nodes)


def load_text(text: str, file: str = "<text>") -> Loaded:
    """Decode every automation in one YAML document."""
    loaded = Loaded()
    try:
        contents = _contents(text, file)
    except ConfigError as exc:
        loaded.errors.append(exc)
        return loaded
    if contents is None:
        return loaded
    unexplained = 0
    for item, node in zip(contents.items, contents.nodes.value, strict=True):
        explain = len(loaded.errors) < MAX_ERRORS
        try:
            automation = _decode(item, node, file, contents.home, contents.scenes, explain=explain)
        except ConfigError as exc:
            loaded.errors.append(exc)
        except _Unexplained:
            unexplained += 1
        else:
            loaded.automations.append((automation, Source(file, node)))
    if unexplained:
        loaded.errors.append(
            ConfigError(
                f"and {unexplained} more automations that do not decode; fix those above first", file=file
            )
        )
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
