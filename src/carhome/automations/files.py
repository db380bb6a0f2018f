"""The automation files of a hub: what loads at start, and what the API writes, durably.

``AutomationFiles`` owns ``<data>/automations/``. Automations come from two kinds of file:

- *base* files: read-only ones handed to the hub (the demo's packaged file, files given
  by the process that starts the hub) and the YAML files people write by hand under
  ``<data>/automations/``;
- *saved* texts: one per automation created or edited through the API (``save``), kept
  by a ``carhome.automations.saved.SavedAutomations``: files
  ``<data>/automations/saved/<id>.yaml`` (``SavedFiles``, the default, a hub on SQLite), or
  a table of the hub's PostgreSQL database (``carhome.automations.postgres_saved``), where
  ``<data>/automations/saved/`` is not read (each file there is reported, with what to do).

A saved text wins over a base file that defines the same id, at this start and at every
next one. So editing an automation that came from a read-only file (or from a hand-written
file holding several) saves an *override* and never touches the file it came from;
deleting the override (``delete``) brings the base automation back. Only automations with
a saved text can be deleted; a base one can be disabled or overridden.

The enable switch (``set_enabled``) is kept by the same store (``enabled.json`` beside the
saved files, as ``{id: bool}``, or its table): it wins over an automation's own
``enabled:``, and survives saving a new text, until the automation is deleted.

Every write is durable when it returns (a file replaced whole on a worker thread, or a
committed transaction). The engine is changed only after the write.

Reading and parsing happen on a worker thread, never on the event loop: ``load`` reads
every file and parses every text on one, and the API hands ``read_text`` a text it received
(one parse per request, and one more when the member who saves it is written in,
``with_member``); what it gives — a ``Text`` — is what ``save`` checks and keeps.

Files are named to people by where they are, never by an absolute path of the machine:
``automations/saved/x.yaml`` (under the data directory), ``package:carhome/sim/…`` (shipped
with carhome) or ``external:name.yaml`` (anywhere else); a saved text in the database is
``postgresql:automations/x``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
import yaml

from carhome import boundedyaml
from carhome.automations.actions import SceneAction
from carhome.automations.automation import Automation
from carhome.automations.engine import Engine
from carhome.automations.loader import Loaded, Source, load_text
from carhome.automations.saved import DIRECTORY, ENABLED_FILE, SAVED, Kept, SavedAutomations, SavedFiles
from carhome.errors import CarhomeError, ConfigError

Origin = Literal["saved", "data", "package", "external"]

_PACKAGE: Final = Path(__file__).resolve().parent.parent  # the carhome package
_WHERE: Final = re.compile(r"^([A-Za-z_][\w.\[\]-]*): (.*)$", re.DOTALL)


class AutomationFileError(CarhomeError):
    """Saving, enabling or deleting an automation was refused; the branches say why."""


class InvalidAutomation(AutomationFileError):
    """The text does not make one valid automation for this hub; ``errors`` has each."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class AutomationExists(AutomationFileError):
    """Creating an automation whose id is already loaded."""

    def __init__(self, automation: str, file: str) -> None:
        super().__init__(
            f"automation {automation!r} already exists (from {file}); edit it with PUT, or choose another id"
        )
        self.automation = automation
        self.file = file


class UnknownAutomation(AutomationFileError):
    """No automation with this id is loaded."""

    def __init__(self, automation: str, known: Iterable[str]) -> None:
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"no automation {automation!r} is loaded; loaded: {names}")
        self.automation = automation


class ReadOnlyAutomation(AutomationFileError):
    """Deleting an automation that has no saved file (it comes from a base file)."""

    def __init__(self, automation: str, file: str) -> None:
        super().__init__(
            f"automation {automation!r} comes from {file}, which the API does not change:"
            " disable it, or save an edit (an override that wins over that file)"
        )
        self.automation = automation
        self.file = file


def error_path(error: ConfigError) -> tuple[str | None, str]:
    """The path inside the automation an error names (``triggers[0].device``), if any,
    and the rest of its message: the loader writes errors as ``path: message``."""
    match = _WHERE.match(error.reason)
    if match is None or " " in match.group(1):
        return None, error.reason
    return match.group(1), match.group(2)


@dataclass(frozen=True, slots=True)
class Entry:
    """A loaded automation and where it was written: the whole file's text (an automation
    is found in it by its ``source`` node) and what kind of file that is."""

    automation: Automation
    source: Source
    file_text: str
    origin: Origin

    @property
    def editable_in_place(self) -> bool:
        return self.origin == "saved"

    def text(self) -> str:
        """This automation as a file of its own: what the editor shows and saves back."""
        if self.origin == "saved":
            return self.file_text
        return standalone(self.automation, self.source, self.file_text)


class AutomationFiles:
    """The automations of ``<data_dir>/automations/`` plus read-only ``base`` files, and
    those saved through the API in ``saved`` (files of ``<data_dir>/automations/saved/``
    unless given)."""

    def __init__(
        self, data_dir: Path, *, base: Sequence[Path] = (), saved: SavedAutomations | None = None
    ) -> None:
        self.data_dir = data_dir
        self.directory = data_dir / DIRECTORY
        self.saved_dir = self.directory / SAVED
        self.store: SavedAutomations = saved if saved is not None else SavedFiles(data_dir)
        self.base_files = tuple(base)
        self._entries: dict[str, Entry] = {}
        self._overridden: dict[str, Entry] = {}  # base entries a saved file wins over
        self._enabled: dict[str, bool] = {}
        self._lock = asyncio.Lock()

    # -- names ---------------------------------------------------------------------------

    def display(self, path: Path) -> str:
        """How a file is named to people: never an absolute path of this machine."""
        resolved = path.resolve()
        for root, prefix in ((self.data_dir.resolve(), ""), (_PACKAGE, "package:carhome/")):
            with contextlib.suppress(ValueError):
                return prefix + resolved.relative_to(root).as_posix()
        return f"external:{path.name}"

    # -- loading -------------------------------------------------------------------------

    async def load(self, engine: Engine) -> list[ConfigError]:
        """Add every automation to ``engine``: base files, then the saved files winning
        over them by id, with the enable switches applied. The files are read and the texts
        parsed on a worker thread. Returns the errors; the automations without one are loaded."""
        kept = await self.store.read()
        self._enabled = kept.switches
        errors, base, saved = await asyncio.to_thread(self._read_all, kept)
        for entry in base:
            if entry.automation.id in saved:
                self._overridden.setdefault(entry.automation.id, entry)
            else:
                self._add(engine, entry, errors)
        for automation_id, entry in saved.items():
            if not self._add(engine, entry, errors) and automation_id in self._overridden:
                # The override no longer binds (a device is gone): the base still may.
                self._add(engine, self._overridden.pop(automation_id), errors)
        return errors

    def _read_all(self, kept: Kept) -> tuple[list[ConfigError], list[Entry], dict[str, Entry]]:
        """The errors, the base entries and the saved ones by id: the base files read, the
        kept texts parsed."""
        errors: list[ConfigError] = list(kept.errors)
        base: list[Entry] = []
        for path in (*self.base_files, *self._hand_written()):
            base += self._read(path, self._origin(path), errors)
        if not isinstance(self.store, SavedFiles):
            errors += self._not_read()
        saved: dict[str, Entry] = {}
        for name, text in kept.texts:
            loaded = load_text(text, name)
            errors += loaded.errors
            if len(loaded.automations) != 1:
                if len(loaded.automations) > 1 or not loaded.errors:  # not one more error for a bad one
                    errors.append(ConfigError("a saved text holds exactly one automation", file=name))
                continue
            automation, source = loaded.automations[0]
            saved[automation.id] = Entry(automation, source, text, "saved")
        return errors, base, saved

    def _not_read(self) -> list[ConfigError]:
        """Saved files left from a hub that kept them as files: this store does not read them."""
        found = sorted(self.saved_dir.glob("*.yaml")) if self.saved_dir.is_dir() else []
        if (self.directory / ENABLED_FILE).is_file():
            found.append(self.directory / ENABLED_FILE)
        return [
            ConfigError(
                "not read: this hub keeps its saved automations and switches in its database;"
                " apply the file's automation again (`carhome automations apply`) and remove the file",
                file=self.display(path),
            )
            for path in found
        ]

    def _hand_written(self) -> list[Path]:
        if self.directory.is_file():  # one file of automations in the directory's place
            return [self.directory]
        if not self.directory.is_dir():
            return []
        return sorted(
            p
            for p in self.directory.rglob("*")
            if p.suffix in (".yaml", ".yml") and p.is_file() and self.saved_dir not in p.parents
        )

    def _origin(self, path: Path) -> Origin:
        shown = self.display(path)
        if shown.startswith("package:"):
            return "package"
        return "external" if shown.startswith("external:") else "data"

    def _read(self, path: Path, origin: Origin, errors: list[ConfigError]) -> list[Entry]:
        shown = self.display(path)
        try:
            text = boundedyaml.read_text(path, limits=boundedyaml.AUTOMATIONS)
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ConfigError(f"cannot read: {exc}", file=shown))
            return []
        except ConfigError as exc:  # longer than a text may be: read no further
            errors.append(ConfigError(exc.reason, file=shown))
            return []
        loaded = load_text(text, shown)
        errors += loaded.errors
        return [Entry(a, s, text, origin) for a, s in loaded.automations]

    def _add(self, engine: Engine, entry: Entry, errors: list[ConfigError]) -> bool:
        automation = self._switched(entry.automation)
        try:
            engine.add(automation, entry.source)
        except ConfigError as exc:
            errors.append(exc)
            return False
        self._entries[automation.id] = Entry(automation, entry.source, entry.file_text, entry.origin)
        return True

    def _switched(self, automation: Automation) -> Automation:
        wanted = self._enabled.get(automation.id)
        if wanted is None or wanted == automation.enabled:
            return automation
        return msgspec.structs.replace(automation, enabled=wanted)

    # -- reading -------------------------------------------------------------------------

    def entry(self, engine: Engine, automation_id: str) -> Entry:
        """The loaded automation ``automation_id`` and its file."""
        found = self._entries.get(automation_id)
        loaded = {a.id: a for a in engine.automations()}
        if automation_id not in loaded:
            raise UnknownAutomation(automation_id, loaded)
        automation = loaded[automation_id]
        if found is None or found.automation is not automation:
            # Loaded around these files (by code that embeds an engine): no file text to show.
            source = engine.source(automation_id)
            return Entry(automation, source, "", "external")
        return found

    def overridden(self, automation_id: str) -> str | None:
        """The file of the base automation a saved one wins over, if any."""
        base = self._overridden.get(automation_id)
        return None if base is None else base.source.file

    # -- changing ------------------------------------------------------------------------

    async def save(self, engine: Engine, text: Text, *, replace: str | None = None) -> Entry:
        """Create (``replace`` None) or replace the automation ``text`` defines, checked
        against the hub as ``Engine.check_text`` does; written to its saved file, then
        swapped into ``engine``."""
        async with self._lock:
            if replace is not None:
                self.entry(engine, replace)  # UnknownAutomation before anything else
            automation, source = await self._check(engine, text, replace)
            old = self._entries.get(automation.id)
            if replace is None and automation.id in {a.id for a in engine.automations()}:
                raise AutomationExists(automation.id, engine.source(automation.id).file)
            await self.store.save(automation.id, automation.home, text.text)
            entry = Entry(
                self._switched(automation),
                Source(self.store.name(automation.id), source.node),
                text.text,
                "saved",
            )
            if old is not None:
                traces = engine.trace(old.automation.id)
                engine.remove(old.automation.id)
                try:
                    engine.add(entry.automation, entry.source)
                except ConfigError:  # bound a moment ago in the scratch engine: put the old back
                    engine.add(old.automation, old.source)
                    raise
                for trace in traces:
                    engine.traces.add(trace)
                if old.origin != "saved":
                    self._overridden[old.automation.id] = old
            else:
                engine.add(entry.automation, entry.source)
            self._entries[entry.automation.id] = entry
            return entry

    async def _check(self, engine: Engine, text: Text, replace: str | None) -> tuple[Automation, Source]:
        found = text.loaded.automations
        if text.loaded.errors:
            raise InvalidAutomation(text.loaded.errors)
        if len(found) != 1:  # counted before binding: a save binds one automation, not a thousand
            raise InvalidAutomation(
                [ConfigError(f"expected exactly one automation in the text; found {len(found)}", line=1)]
            )
        async with Engine(engine.hub, members=engine.members) as scratch:
            errors = scratch.add_loaded(text.loaded)
        if errors:
            raise InvalidAutomation(errors)
        automation, source = found[0]
        if replace is not None and automation.id != replace:
            raise InvalidAutomation(
                [
                    source.error(
                        ("id",),
                        f"this is automation {replace!r}; its id stays (to rename,"
                        f" create {automation.id!r} and delete {replace!r})",
                    )
                ]
            )
        return automation, source

    async def set_enabled(self, engine: Engine, automation_id: str, enabled: bool) -> Entry:
        """Switch an automation on or off, now and after every restart."""
        async with self._lock:
            entry = self.entry(engine, automation_id)
            await self.store.switch(automation_id, entry.automation.home, enabled)
            self._enabled = {**self._enabled, automation_id: enabled}
            if entry.automation.enabled == enabled:
                return entry
            changed = Entry(
                msgspec.structs.replace(entry.automation, enabled=enabled),
                entry.source,
                entry.file_text,
                entry.origin,
            )
            traces = engine.trace(automation_id)
            engine.remove(automation_id)
            engine.add(changed.automation, changed.source)
            for trace in traces:
                engine.traces.add(trace)
            self._entries[automation_id] = changed
            return changed

    async def delete(self, engine: Engine, automation_id: str) -> Entry | None:
        """Delete an automation's saved text (and its switch) and take it out of ``engine``; the base
        automation it overrode comes back (and is returned), if there was one."""
        async with self._lock:
            entry = self.entry(engine, automation_id)
            if entry.origin != "saved":
                raise ReadOnlyAutomation(automation_id, entry.source.file)
            await self.store.delete(automation_id)
            self._enabled = {k: v for k, v in self._enabled.items() if k != automation_id}
            engine.remove(automation_id)
            del self._entries[automation_id]
            base = self._overridden.pop(automation_id, None)
            if base is None:
                return None
            errors: list[ConfigError] = []
            if not self._add(engine, base, errors):
                raise InvalidAutomation(errors)
            return self._entries[automation_id]


# -- who an automation acts as --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """An automation text as it is to be kept, and what it holds, parsed once."""

    text: str
    loaded: Loaded


def read_text(text: str, *, file: str = "<api>", member: str | None = None) -> Text:
    """Parse ``text`` (from ``file``), with ``member`` written in as ``with_member`` does
    when given (and the text parsed again if that changed it). It costs time in proportion
    to the text: the API runs it on a worker thread. Such a text acts in one home: a
    ``homes:`` list is refused (it is for the files the hub loads)."""
    loaded = load_text(text, file, shared=False)
    if member is not None:
        written = _with_member(text, loaded, member)
        if written != text:
            # what was written in counts against no limit: a text allowed stays allowed
            limits = boundedyaml.AUTOMATIONS
            grown = dataclasses.replace(
                limits,
                chars=limits.chars + len(written) - len(text),
                nodes=limits.nodes + 2 * len(loaded.automations),
            )
            return Text(written, load_text(written, file, limits=grown, shared=False))
    return Text(text, loaded)


def with_member(text: str, member: str) -> str:
    """``text`` with ``member: <member>`` written into each automation that names no member
    (right after its ``id:``, in the automation's own style), so an automation saved through
    the API acts as the member who saved it unless it says otherwise. ``member`` is a member
    id (``carhome.hub.model.check_name``), which YAML reads as a plain string."""
    return _with_member(text, load_text(text, "<api>", shared=False), member)


def _with_member(text: str, loaded: Loaded, member: str) -> str:
    inserts: list[tuple[int, str]] = []
    for automation, source in loaded.automations:
        node = source.node
        if automation.member is not None or not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if key.value == "id":
                at = value.end_mark.index
                written = (
                    f", member: {member}"
                    if node.flow_style
                    else f"\n{' ' * key.start_mark.column}member: {member}"
                )
                inserts.append((at, written))
                break
    for at, written in sorted(inserts, reverse=True):
        text = text[:at] + written + text[at:]
    return text


# -- one automation of a file, as a file of its own ---------------------------------------


def standalone(automation: Automation, source: Source, file_text: str) -> str:
    """``automation`` cut out of the file it was written in, as a file of its own: its
    home, the scenes it applies, and its own lines as written (comments, blueprint ``use:``
    and all). If the cut-out does not decode to the same automation, a plain dump of it."""
    node = source.node
    head = _head(automation)
    if node is not None and file_text:
        start, end = node.start_mark, node.end_mark
        lines = file_text[start.index : end.index].rstrip().split("\n")
        column = start.column
        body = [lines[0]] + [
            ("    " + line[column:] if not line[:column].strip() else "    " + line.lstrip())
            if line.strip()
            else ""
            for line in lines[1:]
        ]
        text = head + "automations:\n  - " + "\n".join(body) + "\n"
        cut = load_text(text, source.file).automations
        if len(cut) == 1 and _same(cut[0][0], automation):
            return text
    plain = msgspec.to_builtins(automation)
    del plain["home"], plain["scenes"]  # in the head
    return head + yaml.safe_dump({"automations": [plain]}, sort_keys=False, allow_unicode=True)


def _same(one: Automation, other: Automation) -> bool:
    """The same automation, but for the scenes of its file it does not apply."""
    return msgspec.structs.replace(one, scenes={}) == msgspec.structs.replace(other, scenes={}) and (
        one.scenes == other.scenes or not _applies_scene(one.actions)
    )


def _head(automation: Automation) -> str:
    head = f"home: {automation.home}\n" if automation.home is not None else ""
    if automation.scenes and _applies_scene(automation.actions):
        head += yaml.safe_dump({"scenes": automation.scenes}, sort_keys=False, allow_unicode=True)
    return head


def _applies_scene(value: Any) -> bool:
    """Whether a ``scene`` action is anywhere among these actions (inside choose, if …)."""
    if isinstance(value, SceneAction):
        return True
    if isinstance(value, msgspec.Struct):
        return any(_applies_scene(getattr(value, f)) for f in value.__struct_fields__)
    if isinstance(value, list | tuple):
        return any(_applies_scene(v) for v in value)
    return False
