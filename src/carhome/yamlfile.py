"""YAML text into typed structs: the one decoder of configuration and automation files.

``parse(text, file=…, limits=…)`` reads a text into a ``YamlFile``:

- composed within ``carhome.boundedyaml`` limits (size, nesting, aliases), so no text
  costs more than its size allows;
- a key written twice in one mapping is refused with the line of the second (the YAML spec
  calls such a document invalid; a parser that takes it keeps one silently);
- its values (``data``) keep every key as written: YAML 1.1 reads a key ``on`` (a light's
  property) as true and ``1`` as a number, but a key here is always its text. Values keep
  YAML's rules (``yes`` is true, ``12`` a number); merge keys (``<<:``) are resolved.

``YamlFile.convert(data, Type)`` decodes values into a msgspec struct that forbids unknown
fields, and every refusal — an unknown key, a missing one, a wrong type, what a struct's
own check says — is a ``ConfigError(file, line, path)``: the line of the key (or list item)
the error is about, its path (``homes[0].devices[1].type``), and what is expected; for an
unknown key, the keys allowed in its place. ``decode`` does both for a whole text.

A large text makes hundreds of thousands of objects (nodes, their marks, the values). None
of them is part of a reference cycle, so reference counting frees them all; but Python's
cyclic collector counts them as they are made and runs full collections over the whole
process meanwhile, each one stopping every thread — the event loop too — for as long as
it takes to walk the hub's memory (a second, on a busy machine). So while a text is
decoded (``decoding``, which ``decode``, the config and the automation loader use), full
collections wait (the young generations are still collected as usual): one runs after,
over memory that is back to its size.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Final, TypeVar

import msgspec
import yaml

from carhome import boundedyaml
from carhome.boundedyaml import YamlLimits
from carhome.errors import ConfigError

_T = TypeVar("_T")

Path = tuple[str | int, ...]
"""Where a value is inside a document: mapping keys and list indexes."""

_STR: Final = "tag:yaml.org,2002:str"
_MAP: Final = "tag:yaml.org,2002:map"
_SEQ: Final = "tag:yaml.org,2002:seq"
_MERGE: Final = "tag:yaml.org,2002:merge"
_AT: Final = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)
_STEP: Final = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN: Final = re.compile(r"^Object contains unknown field `([^`]+)`$")
_MISSING: Final = re.compile(r"^Object missing required field `([^`]+)`$")


def render(path: Path) -> str:
    """``("homes", 0, "id")`` → ``homes[0].id``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_NEVER: Final = 2**31 - 1


class _Collector:
    """Holds Python's automatic full collections off while any text is decoded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decoding = 0
        self._thresholds = gc.get_threshold()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._decoding == 0:
                self._thresholds = gc.get_threshold()
                young, middle, *_ = self._thresholds
                gc.set_threshold(young, middle, _NEVER)
            self._decoding += 1
        try:
            yield
        finally:
            with self._lock:
                self._decoding -= 1
                if self._decoding == 0:
                    gc.set_threshold(*self._thresholds)


_collector: Final = _Collector()


def decoding() -> contextlib.AbstractContextManager[None]:
    """A block in which texts are decoded, full collections waiting until it ends
    (decodes on several threads at once share one wait)."""
    return _collector.held()


def parse(text: str, *, file: str, limits: YamlLimits) -> YamlFile:
    """``text`` as a ``YamlFile``; ``ConfigError`` if it is not YAML, breaks ``limits`` or
    writes a key twice in one mapping."""
    document = boundedyaml.compose(text, file=file, limits=limits)
    parsed = YamlFile(document.root, file)
    parsed.check_keys()
    return parsed


def decode(text: str, kind: type[_T], *, file: str, limits: YamlLimits) -> _T:
    """The ``kind`` struct ``text`` describes (an empty text: all defaults)."""
    with decoding():
        parsed = parse(text, file=file, limits=limits)
        data = parsed.data()
        return parsed.convert({} if data is None else data, kind)


class YamlFile:
    """A parsed YAML text: its root node (``None`` when empty) and the file it came from."""

    def __init__(self, root: yaml.Node | None, file: str) -> None:
        self.root = root
        self.file = file
        self._constructor = yaml.constructor.SafeConstructor()

    # -- values ------------------------------------------------------------------------------

    def data(self, node: yaml.Node | None = None) -> Any:
        """The values of ``node`` (the whole document by default), keys as written."""
        node = self.root if node is None else node
        if node is None:
            return None
        try:
            return self._value(node)
        except yaml.MarkedYAMLError as exc:  # a scalar YAML cannot construct (a bad !!timestamp …)
            mark = exc.problem_mark or exc.context_mark
            raise ConfigError(
                f"not valid YAML: {exc.problem or exc}",
                file=self.file,
                line=None if mark is None else mark.line + 1,
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {exc}", file=self.file, line=_line(node)) from None

    def _value(self, node: yaml.Node) -> Any:
        # Recursion as deep as the document nests, which boundedyaml bounds.
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == _STR else self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            self._plain(node, _SEQ)
            return [self._value(item) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            self._plain(node, _MAP)
            out: dict[Any, Any] = {}
            merged: list[yaml.Node] = []
            for key, value in node.value:
                if key.tag == _MERGE:
                    merged.append(value)
                else:
                    out[self._key(key)] = self._value(value)
            for source in merged:  # keys written here win, then earlier merged mappings
                for mapping in source.value if isinstance(source, yaml.SequenceNode) else (source,):
                    if not isinstance(mapping, yaml.MappingNode):
                        raise ConfigError(
                            "a merge key (<<) takes a mapping or a list of mappings",
                            file=self.file,
                            line=_line(mapping),
                        )
                    for key, value in self._value(mapping).items():
                        out.setdefault(key, value)
            return out
        return self._constructor.construct_object(node, deep=True)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, TypeError, AttributeError, OverflowError):  # PyYAML's own, on a bad !!tag value
            raise ConfigError(
                f"not valid YAML: {node.value!r} is not a value of its tag {node.tag!r}",
                file=self.file,
                line=_line(node),
            ) from None

    def _key(self, key: yaml.Node) -> str:
        if not isinstance(key, yaml.ScalarNode):
            raise ConfigError(
                "a key must be a plain name, not a list or a mapping", file=self.file, line=_line(key)
            )
        return str(key.value)

    def _plain(self, node: yaml.Node, tag: str) -> None:
        if node.tag != tag:
            raise ConfigError(
                f"not valid YAML: the tag {node.tag!r} is not taken here; write a plain list or mapping",
                file=self.file,
                line=_line(node),
            )

    # -- keys written twice ----------------------------------------------------------------

    def check_keys(self) -> None:
        """``ConfigError`` at the second of two equal keys in one mapping."""
        for mapping in _mappings(self.root):
            keys = [k.value for k, _ in mapping.value if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE]
            if len(keys) == len(set(keys)):
                continue
            seen: set[str] = set()
            for key, _ in mapping.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                    continue
                if key.value in seen:
                    raise ConfigError(
                        "this key appears twice in the same mapping (the second would silently"
                        " win); keep one",
                        file=self.file,
                        line=_line(key),
                        path=render((*_path_to(self.root, mapping), key.value)),
                    )
                seen.add(key.value)

    # -- where ------------------------------------------------------------------------------

    def line_of(self, path: Path, node: yaml.Node | None = None) -> int | None:
        """The line of what ``path`` names under ``node`` (the root by default): a key's own
        line, or a list item's first line; as far down as the document goes."""
        at = self.root if node is None else node
        return None if at is None else line_of(at, path)

    def error(self, path: Path, message: str, node: yaml.Node | None = None) -> ConfigError:
        """A ``ConfigError`` about ``path`` under ``node`` (the root by default)."""
        where = render(path) or ("(top level)" if node is None or node is self.root else "")
        return ConfigError(message, file=self.file, line=self.line_of(path, node), path=where or None)

    # -- typed values -----------------------------------------------------------------------

    def convert(self, data: Any, kind: type[_T], node: yaml.Node | None = None) -> _T:
        """``data`` (the values of ``node``, the root by default) as a ``kind``; a refusal is
        a ``ConfigError`` naming the file, the line, the path and what is expected."""
        try:
            return msgspec.convert(data, kind)
        except msgspec.ValidationError as exc:
            path, message = refusal(exc, kind, data)
            raise self.error(path, message, node) from None


def refusal(exc: msgspec.ValidationError, kind: Any, data: Any) -> tuple[Path, str]:
    """Where a msgspec refusal of ``data`` as ``kind`` is, and what to say about it."""
    text = str(exc)
    found = _AT.match(text)
    message, path = (found.group(1), _path(found.group(2))) if found else (text, ())
    unknown = _UNKNOWN.match(message)
    if unknown is not None:
        name = unknown.group(1)
        allowed = _allowed(kind, data, path)
        path = (*path, name)
        message = f"unknown key {name!r}" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        return path, message
    missing = _MISSING.match(message)
    if missing is not None:
        return path, f"missing required key {missing.group(1)!r}"
    return path, message[:1].lower() + message[1:]


def line_of(node: yaml.Node, path: Path) -> int:
    """The line of what ``path`` names under ``node``: a key's own line, or a list item's
    first line; as far down as the document goes."""
    line = _line(node)
    for part in path:
        found = _child(node, part)
        if found is None:
            break
        node, line = found
    return line


def _path(text: str) -> Path:
    return tuple(int(i) if i else k for k, i in _STEP.findall(text))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, int] | None:
    """The node ``part`` names under ``node``, and the line that says where it is."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        merged: list[yaml.Node] = []
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
                merged += value.value if isinstance(value, yaml.SequenceNode) else [value]
            elif isinstance(key, yaml.ScalarNode) and key.value == part:
                return value, _line(key)
        for source in merged:  # a key a merge brought in: where that mapping writes it
            found = _child(source, part)
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, _line(item)
    return None


def _mappings(root: yaml.Node | None) -> Iterator[yaml.MappingNode]:
    """Every mapping of the document once (an alias's target is not walked again), in the
    order they are written. Paths are not made on the way (most documents have no error):
    ``_path_to`` finds the one an error needs."""
    if root is None or isinstance(root, yaml.ScalarNode):
        return
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    scalar = yaml.ScalarNode
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            yield node
            for key, value in reversed(node.value):
                if not isinstance(value, scalar):
                    stack.append(value)
                if not isinstance(key, scalar):
                    stack.append(key)
        else:
            stack += [item for item in reversed(node.value) if not isinstance(item, scalar)]


def _path_to(root: yaml.Node | None, target: yaml.Node) -> Path:
    """The path at which ``target`` is first found walking the document as ``_mappings``
    does (``()`` if it is not in it)."""
    seen: set[int] = set()
    stack: list[tuple[Path, yaml.Node]] = [] if root is None else [((), root)]
    while stack:
        path, node = stack.pop()
        if node is target:
            return path
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                step = key.value if isinstance(key, yaml.ScalarNode) else "?"
                stack.append(((*path, step), value))
                stack.append((path, key))
        else:
            stack += [((*path, i), item) for i, item in reversed(list(enumerate(node.value)))]
    return ()


# -- the keys a struct takes, for an unknown-key message --------------------------------------


@functools.lru_cache(maxsize=64)
def _info(kind: Any) -> msgspec.inspect.Type:
    return msgspec.inspect.type_info(kind)


def _allowed(kind: Any, data: Any, path: Path) -> Sequence[str]:
    """The keys the struct at ``path`` of ``data`` (decoded as ``kind``) takes: tagged
    unions are told apart by the tag the data writes."""
    try:
        at: msgspec.inspect.Type | None = _info(kind)
    except TypeError:  # not a type msgspec inspects
        return ()
    for part in path:
        at = _narrow(at, data)
        if isinstance(at, msgspec.inspect.StructType) and isinstance(part, str):
            field = next((f for f in at.fields if f.encode_name == part), None)
            at = None if field is None else field.type
            data = data.get(part) if isinstance(data, dict) else None
        elif isinstance(at, msgspec.inspect.DictType) and isinstance(part, str):
            at = at.value_type
            data = data.get(part) if isinstance(data, dict) else None
        elif isinstance(at, msgspec.inspect.ListType | msgspec.inspect.VarTupleType) and isinstance(
            part, int
        ):
            at = at.item_type
            data = data[part] if isinstance(data, list) and part < len(data) else None
        else:
            return ()
    at = _narrow(at, data)
    if not isinstance(at, msgspec.inspect.StructType):
        return ()
    names = [f.encode_name for f in at.fields]
    return [at.tag_field, *names] if at.tag_field is not None else names


def _narrow(at: msgspec.inspect.Type | None, data: Any) -> msgspec.inspect.Type | None:
    """The one type of a union (or a type with constraints) that ``data`` is meant as."""
    while isinstance(at, msgspec.inspect.Metadata):
        at = at.type
    if not isinstance(at, msgspec.inspect.UnionType):
        return at
    structs = [t for t in at.types if isinstance(t, msgspec.inspect.StructType)]
    tagged = [t for t in structs if t.tag_field is not None]
    if tagged and isinstance(data, dict):
        return next((t for t in tagged if data.get(t.tag_field) == t.tag), None)
    if len(structs) == 1:
        return structs[0]
    others = [t for t in at.types if not isinstance(t, msgspec.inspect.NoneType)]
    return others[0] if len(others) == 1 else None
