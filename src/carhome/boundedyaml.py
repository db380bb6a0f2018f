"""YAML text parsed within limits: the one place carhome turns YAML into a node graph.

Configuration files and automation files (typed in by a member through the API, too) are
YAML, and YAML can be made to cost far more than its size: 430 bytes of nested aliases
(``&a [x, x]``, ``&b [*a, *a]``, …) describe a billion values, and whatever walks the
document afterwards — PyYAML's constructor, a decoder, an encoder — expands them. So
``compose`` refuses, before anything is constructed:

- a text longer than ``YamlLimits.chars`` (checked first, so the parser never sees it);
- more than ``aliases`` aliases (``*name``), or an alias inside the node it names;
- a document that, with its aliases expanded, holds more than ``nodes`` values or nests
  deeper than ``depth`` levels.

The text's parse events are counted first, as they stream by and are dropped: a text whose
values, aliases or nesting are past a limit before any alias is expanded is refused there,
after the first ``nodes`` values, without its node graph ever being built (a quarter of a
mebibyte of one-letter items would take seconds and tens of megabytes to compose). What
passes is composed, and measured again with its aliases expanded.

That first count is skipped for a short text without aliases (no ``*`` in it, and at most
``nodes / 3`` characters), which cannot hold too many values: each value is brought in by
a character of its own — a written scalar by its first character, a collection by its
``[``, ``{``, first ``-`` or first key, a value left empty by the ``-``, ``:`` or ``?``
after which it is missing — and no character brings in more than three (a ``?`` that
opens a block mapping, with an empty key and no value: the mapping, the key and the
value). Without aliases every node is one value, so such a text composes into at most
``nodes`` of them, costing no more than its size; its nesting is bounded by libyaml
(1,000 levels; Python's recursion limit without libyaml) while it is composed, and the
measure after composing refuses it past ``depth`` as the count would have. Both use libyaml
(PyYAML's C parser) when it is there. A refusal is a ``ConfigError`` naming the file and
the line of the offending node, and saying what to do.
``read_text`` reads a file without reading past the limit.

The limits go with the kind of text: ``AUTOMATIONS`` for automation files (as large as a
person's file of a thousand automations; the API parses one on a worker thread, never on
the event loop), ``CONFIG`` for the configuration file (read once, before the hub starts).
``carhome.yamlfile`` decodes what passes into typed structs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from carhome.errors import ConfigError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How much one YAML text may hold."""

    chars: int
    """Characters of text."""
    depth: int
    """Levels of nesting, with aliases expanded."""
    aliases: int
    """Aliases (``*name``)."""
    nodes: int
    """Values (scalars, lists, mappings), with aliases expanded."""


AUTOMATIONS: Final = YamlLimits(chars=256 * 1024, depth=32, aliases=1024, nodes=64_000)
"""An automation file: a thousand automations written out (``loader.MAX_AUTOMATIONS``), a
quarter of a second's parse at most; split a bigger set into several files."""

CONFIG: Final = YamlLimits(chars=128 * 1024, depth=32, aliases=1024, nodes=25_000)
"""The configuration file: fifteen times the documented example."""


class YamlDocument:
    """A composed document: its root node (``None`` when empty), and its values built from
    the nodes by PyYAML's safe constructor. Constructing a mapping with merge keys (``<<:``)
    rewrites that node in place (PyYAML flattens it): look at the nodes before that."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root
        self._constructor = yaml.constructor.SafeConstructor()

    def construct(self, node: yaml.Node) -> Any:
        """The Python value of ``node`` as PyYAML's safe loader reads it."""
        return self._constructor.construct_object(node, deep=True)

    def value(self) -> Any:
        """The Python value of the whole document (``None`` when it is empty)."""
        return None if self.root is None else self._constructor.construct_document(self.root)


def compose(text: str, *, file: str, limits: YamlLimits) -> YamlDocument:
    """Parse ``text`` into its node graph, or ``ConfigError`` if it breaks ``limits`` or
    is not YAML (a single document)."""
    if len(text) > limits.chars:
        raise ConfigError(
            f"the YAML is {len(text)} characters long, more than the {limits.chars} allowed;"
            " split it into smaller files",
            file=file,
        )
    if "*" in text or len(text) * _MOST_PER_CHAR > limits.nodes:
        _count_events(text, limits, file)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        if exc.problem == _LIBYAML_TOO_DEEP:
            raise ConfigError(
                f"the YAML is nested more than {limits.depth} levels deep; flatten it", file=file, line=line
            ) from None
        raise ConfigError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file) from None
    except RecursionError:  # PyYAML's pure-Python composer, when libyaml is missing
        raise ConfigError(
            f"the YAML is nested more than {limits.depth} levels deep; flatten it", file=file
        ) from None
    finally:
        loader.dispose()
    if root is not None:
        # without an anchor there is no alias: the document is a tree, measured faster
        _measure(root, limits, file, anchors="&" in text)
    return YamlDocument(root)


_MOST_PER_CHAR: Final = 3
"""Values one character of a text without aliases may bring in (see the module docstring)."""
_LIBYAML_TOO_DEEP: Final = "exceeded maximum nesting depth"
"""What libyaml says of a text nested deeper than it reads (1,000 levels)."""
_COLLECTIONS: Final = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_ENDS: Final = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _count_events(text: str, limits: YamlLimits, file: str) -> None:
    """Refuse a text whose values, aliases or nesting — counted from its parse events, each
    dropped once counted, aliases not expanded — are past ``limits``; leave a text that is
    not YAML to ``compose``, which says where."""
    loader = _Loader(text)
    values = aliases = depth = 0
    try:
        while loader.check_event():
            event: yaml.Event = loader.get_event()  # type: ignore[no-untyped-call]  # typeshed leaves it bare
            if isinstance(event, _ENDS):
                depth -= 1
                continue
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.aliases:
                    raise _refused_at(
                        event,
                        file,
                        f"the YAML uses more than {limits.aliases} aliases (*name); write the values out",
                    )
            elif isinstance(event, _COLLECTIONS):
                depth += 1
                if depth > limits.depth:
                    raise _refused_at(
                        event, file, f"the YAML is nested more than {limits.depth} levels deep; flatten it"
                    )
            elif not isinstance(event, yaml.ScalarEvent):
                continue  # the stream's and documents' own events
            values += 1
            if values > limits.nodes:
                # counted before any alias is expanded: with them, there are more still
                how = " once its aliases are expanded; use fewer aliases" if "&" in text else "; split it"
                raise _refused_at(event, file, f"the YAML holds more than {limits.nodes} values{how}")
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()


def _refused_at(event: yaml.Event, file: str, message: str) -> ConfigError:
    mark = event.start_mark
    return ConfigError(message, file=file, line=None if mark is None else mark.line + 1)


def read_text(path: Path, *, limits: YamlLimits) -> str:
    """The text of the file at ``path``, read no further than the limit allows.

    ``OSError`` and ``UnicodeDecodeError`` go to the caller, who knows what it was reading.
    """
    with path.open(encoding="utf-8") as stream:
        text = stream.read(limits.chars + 1)
    if len(text) > limits.chars:
        raise ConfigError(
            f"the file is longer than the {limits.chars} characters allowed; split it into smaller files",
            file=str(path),
        )
    return text


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _children_where(node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    """Each child, and the node whose line says where it is written: an alias is its
    anchor's node, so a mapping's value is placed by its key, a list's item by the list."""
    if isinstance(node, yaml.MappingNode):
        return [pair for key, value in node.value for pair in ((key, key), (value, key))]
    return [(item, node) for item in node.value] if isinstance(node, yaml.SequenceNode) else []


def _measure(root: yaml.Node, limits: YamlLimits, file: str, *, anchors: bool) -> None:
    """Refuse a document past ``limits``, measured without expanding its aliases."""
    if anchors:
        _measure_graph(root, limits, file)
    else:
        _measure_tree(root, limits, file)


def _measure_tree(root: yaml.Node, limits: YamlLimits, file: str) -> None:
    """Values and depth of a document without anchors: a tree, each node seen once."""
    count = 1
    stack: list[tuple[yaml.Node, int]] = [(root, 1)] if not isinstance(root, yaml.ScalarNode) else []
    while stack:
        node, level = stack.pop()
        if level > limits.depth:
            raise _too_deep(node, limits, file)
        children = _children(node)
        count += len(children)
        if count > limits.nodes:
            raise _too_many(node, limits, file, aliases=False)
        stack += [(child, level + 1) for child in children if not isinstance(child, yaml.ScalarNode)]


_PUSHED: Final = 0
_OPEN: Final = 1
_DONE: Final = 2


def _measure_graph(root: yaml.Node, limits: YamlLimits, file: str) -> None:
    """Aliases, and values and depth with aliases expanded, of a document with anchors.

    The composer shares a node only through an alias, so the document is a graph whose
    every node is measured once, after its children (``size`` and ``depth`` remember the
    expanded figures): this costs the size of the text, not of the expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    state: dict[int, int] = {id(root): _PUSHED}
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, after_children = stack.pop()
        key = id(node)
        if after_children:
            children = _children(node)
            size[key] = 1 + sum(size.get(id(child), 1) for child in children)
            depth[key] = 1 + max((depth.get(id(child), 0) for child in children), default=0)
            state[key] = _DONE
            if depth[key] > limits.depth:
                raise _too_deep(node, limits, file)
            if size[key] > limits.nodes:
                raise _too_many(node, limits, file, aliases=aliases > 0)
            continue
        seen = state.get(key)
        if seen == _DONE:
            continue
        if seen == _OPEN:
            raise _refusal(node, file, "an alias refers to a node that contains it; remove the alias")
        state[key] = _OPEN
        stack.append((node, True))
        for child, where in _children_where(node):
            if id(child) in state:
                aliases += 1
                if aliases > limits.aliases:
                    raise _refusal(
                        where,
                        file,
                        f"the YAML uses more than {limits.aliases} aliases (*name); write the values out",
                    )
            else:
                state[id(child)] = _PUSHED
            if not isinstance(child, yaml.ScalarNode):
                stack.append((child, False))


def _too_deep(node: yaml.Node, limits: YamlLimits, file: str) -> ConfigError:
    return _refusal(node, file, f"the YAML is nested more than {limits.depth} levels deep; flatten it")


def _too_many(node: yaml.Node, limits: YamlLimits, file: str, *, aliases: bool) -> ConfigError:
    how = " once its aliases are expanded; use fewer aliases" if aliases else "; split it"
    return _refusal(node, file, f"the YAML holds more than {limits.nodes} values{how}")


def _refusal(node: yaml.Node, file: str, message: str) -> ConfigError:
    return ConfigError(message, file=file, line=node.start_mark.line + 1)
