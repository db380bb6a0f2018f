"""Reading automations from YAML files: decode at the edge, report each bad one, load the rest.

A file holds a list of automations (at most ``MAX_AUTOMATIONS``), or a mapping with
``automations:`` and an optional ``home:`` that the automations default to — or, for a
fleet, ``homes:``, a list of homes that each get every automation of the file: the text
is parsed, checked and decoded once, and each automation is then given per home (id
``{home}.{id}``, ``home: {home}``, sharing the decoded structs), to be bound per home by
the engine; an error found when binding names the file, the line and the home
(``Source.home``). At most ``MAX_SHARED`` automations come out of one text that way. The
text is
read by ``carhome.yamlfile`` — the decoder the configuration file uses too — within
``carhome.boundedyaml.AUTOMATIONS`` (size, nesting, aliases): keys as written (a light's
``on`` stays the key ``on``), a key written twice anywhere refuses the whole text, as a
YAML error does. Each automation is decoded on its own into an ``Automation`` struct; one
that does not decode (unknown key, wrong type, missing field) is reported as a
``ConfigError`` with its file, line and path and what was expected (past ``MAX_ERRORS`` of
them, one more error counts the rest), and the others still load. A ``Source`` keeps the
YAML node so errors found later, when the engine binds the automation to the hub (an
unknown device), point at the right line too.

Parsing costs time in proportion to the text (up to a quarter of a second for the largest
one allowed): the API parses a text once per request, on a worker thread
(``carhome.automations.files.read_text``); a hub parses its files once, at start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Final

import msgspec
import yaml

from carhome import boundedyaml, yamlfile
from carhome.automations.automation import Automation
from carhome.automations.binding import Path
from carhome.automations.blueprints import BlueprintError, expand
from carhome.boundedyaml import YamlLimits
from carhome.errors import ConfigError
from carhome.yamlfile import YamlFile


@dataclass(frozen=True, slots=True)
class Source:
    """Where an automation was written: file, and its YAML node to find lines by path.

    ``first_line`` is the automation's line once the node is let go (``without_node``);
    ``home`` is the home of a file's ``homes:`` it was given for, named in its errors."""

    file: str
    node: yaml.Node | None = None
    first_line: int | None = None
    home: str | None = None

    @property
    def line(self) -> int | None:
        return self.first_line if self.node is None else self.node.start_mark.line + 1

    def without_node(self) -> Source:
        """This source with its file and first line only: what a loaded automation keeps
        (a node with its marks is some 10 KB; errors found once bound need no line)."""
        return self if self.node is None else Source(self.file, None, self.line, self.home)

    def line_of(self, path: Path) -> int | None:
        """The line of what ``path`` names in the automation: a key's own line, or a list
        item's first line; as far down as the text goes."""
        return self.first_line if self.node is None else yamlfile.line_of(self.node, path)

    def error(self, path: Path, message: str) -> ConfigError:
        if self.home is not None:
            message = f"{message} (for home {self.home!r} of the file's homes)"
        return ConfigError(
            message, file=self.file, line=self.line_of(path), path=yamlfile.render(path) or None
        )


@dataclass(slots=True)
class Loaded:
    """What a load gave: the automations that decoded, and an error for each that did not."""

    automations: list[tuple[Automation, Source]] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


MAX_AUTOMATIONS: Final = 1000
"""Automations one text may hold."""
MAX_ERRORS: Final = 20
"""Automations of one text whose errors are each explained; the rest are counted in one more."""
MAX_SHARED: Final = 100_000
"""Automations one text may give its ``homes:`` in all (homes × automations)."""
_TOP: Final = ("home", "homes", "scenes", "automations")
_ID: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{0,127}")  # as ``Automation`` checks it


class _Unexplained(Exception):
    """An automation that does not decode, past the ``MAX_ERRORS`` worth explaining."""


def _decode(
    parsed: YamlFile, node: yaml.Node, home: str | None, scenes: Any = None, *, explain: bool = True
) -> Automation:
    source = Source(parsed.file, node)
    data = parsed.data(node)
    if isinstance(data, dict) and "use" in data:
        try:
            data = expand(data)
        except BlueprintError as exc:
            raise source.error(exc.path, exc.message) from None
    if isinstance(data, dict) and home is not None:
        data.setdefault("home", home)
    if isinstance(data, dict) and isinstance(scenes, dict):
        data["scenes"] = {**scenes, **(data.get("scenes") or {})}
    if explain:
        return parsed.convert(data, Automation, node)
    try:
        return parsed.convert(data, Automation, node)
    except ConfigError:
        raise _Unexplained from None


@dataclass(frozen=True, slots=True)
class _Contents:
    """What a file of automations holds, before each automation is decoded."""

    home: str | None
    scenes: Any
    nodes: yaml.SequenceNode
    homes: list[str] | None = None
    """The homes of ``homes:``."""


def _contents(parsed: YamlFile, *, shared: bool) -> _Contents | None:
    """The automations of a text (``None`` when it is empty), or ``ConfigError`` when it is
    no file of automations."""
    root = parsed.root
    if root is None or (isinstance(root, yaml.ScalarNode) and parsed.data() is None):
        return None
    home: Any = None
    scenes: Any = None
    homes: list[str] | None = None
    nodes = root
    if isinstance(root, yaml.MappingNode):
        parts = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
        unknown = [name for name in parts if name not in _TOP]
        if unknown:
            raise parsed.error((unknown[0],), f"unknown key {unknown[0]!r}; allowed here: {', '.join(_TOP)}")
        home = None if "home" not in parts else parsed.data(parts["home"])
        if home is not None and not isinstance(home, str):
            raise parsed.error(("home",), "expected a home id")
        if "homes" in parts:
            homes = _homes(parsed, parts, shared=shared)
        scenes = None if "scenes" not in parts else parsed.data(parts["scenes"])
        nodes = parts.get("automations", root)
    if not isinstance(nodes, yaml.SequenceNode):
        raise ConfigError("expected a list of automations", file=parsed.file, line=nodes.start_mark.line + 1)
    if len(nodes.value) > MAX_AUTOMATIONS:
        raise ConfigError(
            f"{len(nodes.value)} automations in one file, more than {MAX_AUTOMATIONS};"
            " split them into several files",
            file=parsed.file,
            line=nodes.start_mark.line + 1,
        )
    if homes is not None and len(homes) * len(nodes.value) > MAX_SHARED:
        raise parsed.error(
            ("homes",),
            f"{len(homes)} homes × {len(nodes.value)} automations make more than {MAX_SHARED}"
            " automations; split the homes into several files",
        )
    return _Contents(home, scenes, nodes, homes)


def _homes(parsed: YamlFile, parts: dict[str, yaml.Node], *, shared: bool) -> list[str]:
    """The homes of a ``homes:`` list, each once."""
    if not shared:
        raise parsed.error(
            ("homes",), "a text given here acts in one home: write 'home:' (or no home), not 'homes:'"
        )
    if "home" in parts:
        raise parsed.error(("homes",), "write 'home:' or 'homes:', not both")
    node = parts["homes"]
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise parsed.error(("homes",), "expected a list of home ids, such as [h1, h2]")
    homes: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(node.value):
        home = parsed.data(item) if isinstance(item, yaml.ScalarNode) else None
        if not isinstance(home, str):
            raise parsed.error(("homes", i), "expected a home id")
        if home in seen:
            raise parsed.error(("homes", i), f"home {home!r} is listed twice; keep one")
        seen.add(home)
        homes.append(home)
    return homes


def load_text(
    text: str, file: str = "<text>", *, limits: YamlLimits = boundedyaml.AUTOMATIONS, shared: bool = True
) -> Loaded:
    """Decode every automation in one YAML document; ``shared=False`` refuses ``homes:``
    (a text that must act in one home, such as one saved through the API)."""
    with yamlfile.decoding():
        return _load_text(text, file, limits, shared=shared)


def _load_text(text: str, file: str, limits: YamlLimits, *, shared: bool) -> Loaded:
    loaded = Loaded()
    try:
        parsed = yamlfile.parse(text, file=file, limits=limits)
        contents = _contents(parsed, shared=shared)
    except ConfigError as exc:
        # without its traceback, whose frames hold the refused text's nodes
        loaded.errors.append(exc.with_traceback(None))
        return loaded
    if contents is None:
        return loaded
    unexplained = 0
    for node in contents.nodes.value:
        explain = len(loaded.errors) < MAX_ERRORS
        try:
            automation = _decode(parsed, node, contents.home, contents.scenes, explain=explain)
        except ConfigError as exc:
            loaded.errors.append(exc)
        except _Unexplained:
            unexplained += 1
        else:
            if contents.homes is None:
                loaded.automations.append((automation, Source(parsed.file, node)))
            else:
                try:
                    loaded.automations += _per_home(parsed, node, automation, contents.homes)
                except ConfigError as exc:
                    loaded.errors.append(exc)
    if unexplained:
        loaded.errors.append(
            ConfigError(
                f"and {unexplained} more automations that do not decode; fix those above first", file=file
            )
        )
    return loaded


def _per_home(
    parsed: YamlFile, node: yaml.Node, automation: Automation, homes: list[str]
) -> list[tuple[Automation, Source]]:
    """One automation of a ``homes:`` file, given to each home: the decoded parts shared
    (nothing changes them once decoded), its id and home its own."""
    if automation.home is not None:
        raise parsed.error(
            ("home",), "an automation of a file with 'homes:' acts in each of them; remove its 'home:'", node
        )
    replace = msgspec.structs.replace
    out: list[tuple[Automation, Source]] = []
    for home in homes:
        automation_id = f"{home}.{automation.id}"
        if not _ID.fullmatch(automation_id):
            raise parsed.error(
                ("id",),
                f"{automation_id!r}, the id made for home {home!r}, is not a valid id: at most 128"
                " lower-case letters, digits, '_', '-' or '.'; use a shorter id or home id",
                node,
            )
        out.append((replace(automation, id=automation_id, home=home), Source(parsed.file, node, home=home)))
    return out


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
