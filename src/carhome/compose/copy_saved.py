"""The saved automations, their switches and the delegate keys copied with the hub's store.

Beside a SQLite hub database, the data directory holds what the API saved of the
automations (``automations/saved/<id>.yaml`` and ``automations/enabled.json``,
``carhome.automations.saved.SavedFiles``) and the automation delegate keys
(``delegates/<home>/<device>.{pem,pin}``, ``carhome.access.delegates.FileDelegateKeys``);
on PostgreSQL they are tables of the hub's database
(``carhome.automations.postgres_saved``, ``carhome.access.postgres_delegates``).
``copy_saved`` moves them through those protocols, SQLite to PostgreSQL and back: each text
verbatim (byte for byte, comments and all), each switch, each key and pin as it is. A
SQLite source without the files has nothing of them to copy (no file is made for them).

Into PostgreSQL a saved text is keyed by the ``home:`` it names; a switch by the home of
the saved text of the same id, or by the home ``""`` when the automation is one of the
hub's files (the hub moves it to its home when it is switched again). A source text that
cannot be read refuses the copy before anything is written, naming the file. As for the
other parts, a target that holds any of them is refused unless ``merge`` (then the
source's texts, switches and keys replace those with the same keys), and each is counted on
both sides after the copy and compared.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from carhome.access.delegates import DelegateKeys, Delegation, FileDelegateKeys
from carhome.access.postgres_delegates import PostgresDelegateKeys
from carhome.automations.loader import load_text
from carhome.automations.postgres_saved import PREFIX, PostgresSavedAutomations
from carhome.automations.saved import DIRECTORY, ENABLED_FILE, SAVED, SavedAutomations, SavedFiles
from carhome.errors import StoreError
from carhome.sqlitefile import MEMORY
from carhome.store import PostgresStore, SqliteStore
from carhome.store.copy import Counted, Progress, copied_parts, refuse_held

DELEGATES: Final = "delegates"
"""The directory of the delegate keys under a SQLite hub's data directory."""
TABLES: Final = {
    "automations": ("saved automations", "automation switches"),
    "delegates": ("delegate keys",),
}


@dataclass(frozen=True, slots=True)
class Saved:
    """The saved automations and delegate keys of one side (None: a SQLite source without
    them, or a throwaway store)."""

    automations: SavedAutomations | None
    delegates: DelegateKeys | None


@dataclass(frozen=True, slots=True)
class _Held:
    texts: dict[str, str] = field(default_factory=dict)
    switches: dict[str, bool] = field(default_factory=dict)
    delegations: list[Delegation] = field(default_factory=list)

    def keys(self) -> dict[str, set[Hashable]]:
        return {
            "saved automations": set(self.texts),
            "automation switches": set(self.switches),
            "delegate keys": {(d.home, d.device) for d in self.delegations},
        }


async def saved_sides(
    source: SqliteStore | PostgresStore, target: SqliteStore | PostgresStore, *, merge: bool, target_name: str
) -> tuple[Saved, Saved]:
    """The source's and the target's saved automations and delegate keys; unless ``merge``,
    ``StoreError`` if the target holds any (checked before anything is written)."""
    from_ = await source_saved(source)
    to = await target_saved(target, from_)
    if not merge:
        await check_saved_empty(to, target_name)
    return from_, to


async def source_saved(store: SqliteStore | PostgresStore) -> Saved:
    """What the source ``store`` keeps beside it: the files of its data directory that
    exist, or the tables of its PostgreSQL database."""
    if isinstance(store, PostgresStore):
        return await _on_postgres(store)
    if store.path == MEMORY:
        return Saved(None, None)
    data = Path(store.path).parent
    automations = data / DIRECTORY
    has_saved = (automations / SAVED).is_dir() or (automations / ENABLED_FILE).is_file()
    return Saved(
        SavedFiles(data) if has_saved else None,
        FileDelegateKeys(data / DELEGATES) if (data / DELEGATES).is_dir() else None,
    )


async def target_saved(store: SqliteStore | PostgresStore, source: Saved) -> Saved:
    """Where the target ``store`` keeps them, for what ``source`` has (no file nor table is
    made for what has nothing to copy)."""
    if source.automations is None and source.delegates is None:
        return Saved(None, None)
    if isinstance(store, PostgresStore):
        made = await _on_postgres(store)
    elif store.path == MEMORY:
        return Saved(None, None)
    else:
        data = Path(store.path).parent
        made = Saved(SavedFiles(data), FileDelegateKeys(data / DELEGATES))
    return Saved(
        made.automations if source.automations is not None else None,
        made.delegates if source.delegates is not None else None,
    )


async def _on_postgres(store: PostgresStore) -> Saved:
    automations = PostgresSavedAutomations(store.database)
    await automations.open()
    delegates = PostgresDelegateKeys(store.database)
    await delegates.open()
    return Saved(automations, delegates)


async def check_saved_empty(target: Saved, target_name: str) -> None:
    """``StoreError`` if the target holds any saved automation, switch or delegate key
    (checked before any copy)."""
    refuse_held(
        {table: len(keys) for table, keys in (await _held(target)).keys().items()},
        target_name,
        merged="the source's saved automations, switches and delegate keys replace those with the same ids",
    )


async def copy_saved(
    source: Saved, target: Saved, *, progress: Progress | None = None, target_name: str = "the target"
) -> list[Counted]:
    """Copy the ``source``'s saved automations, switches and delegate keys into ``target``;
    each counted on both sides after."""
    told = progress or (lambda table, done, total: None)
    data = await _held(source)
    before = await _held(target)  # reads the target's switches first: a merge keeps the others
    if target.automations is not None:
        homes: dict[str, str | None] = {}
        told("saved automations", 0, len(data.texts))
        for done, (automation_id, text) in enumerate(sorted(data.texts.items()), 1):
            loaded = load_text(text, automation_id, shared=False)
            home = loaded.automations[0][0].home if loaded.automations else None
            homes[automation_id] = home
            await target.automations.save(automation_id, home, text)
            told("saved automations", done, len(data.texts))
        told("automation switches", 0, len(data.switches))
        for done, (automation_id, enabled) in enumerate(sorted(data.switches.items()), 1):
            await target.automations.switch(automation_id, homes.get(automation_id), enabled)
            told("automation switches", done, len(data.switches))
    if target.delegates is not None:
        told("delegate keys", 0, len(data.delegations))
        for done, delegation in enumerate(data.delegations, 1):
            await target.delegates.put(delegation)
            told("delegate keys", done, len(data.delegations))

    after = (await _held(target)).keys()
    copied, was = data.keys(), before.keys()
    return copied_parts(TABLES, source, target, copied=copied, was=was, after=after, target_name=target_name)


async def _held(side: Saved) -> _Held:
    """Everything ``side`` keeps; ``StoreError`` naming a saved text that cannot be read."""
    held = _Held()
    if side.automations is not None:
        kept = await side.automations.read()
        if kept.errors:
            raise StoreError(
                "cannot read the saved automations: "
                + "; ".join(str(e) for e in kept.errors)
                + "; nothing was copied: repair or remove those files first"
            )
        for name, text in kept.texts:
            held.texts[_automation_id(name)] = text
        held.switches.update(kept.switches)
    if side.delegates is not None:
        held.delegations.extend(await side.delegates.entries())
    return held


def _automation_id(name: str) -> str:
    """The id of a saved text by its name (``automations/saved/<id>.yaml`` or
    ``postgresql:automations/<id>``)."""
    if name.startswith(PREFIX):
        return name.removeprefix(PREFIX)
    return PurePosixPath(name).stem
