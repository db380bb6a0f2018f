"""Where the automations saved through the API and their enable switches are kept.

``SavedAutomations`` is the small protocol ``carhome.automations.files.AutomationFiles``
keeps its records through: the text of each automation saved through the API (kept
verbatim, so it reads back byte for byte) and the enable switches (``{id: bool}``). Two
implementations:

- ``SavedFiles`` (here): ``<data>/automations/saved/<id>.yaml`` and
  ``<data>/automations/enabled.json``, the hub on SQLite;
- ``carhome.automations.postgres_saved.PostgresSavedAutomations``: two tables of the hub's
  PostgreSQL database, so nothing saved lives only in a file of one machine.

Each names a saved text the same way at every turn (``name``): in the errors of loading it
(``file:line``), in what the API answers, in what the CLI prints. Base files (read-only ones
handed to the hub, hand-written ones under ``<data>/automations/``) are not records: they
stay files, read by ``AutomationFiles``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

import msgspec

from carhome import boundedyaml
from carhome.errors import ConfigError
from carhome.files import delete_durably, write_atomically

DIRECTORY: Final = "automations"
SAVED: Final = "saved"
ENABLED_FILE: Final = "enabled.json"


@dataclass(frozen=True, slots=True)
class Kept:
    """What a store holds: each saved text by its name, the switches, and the errors of
    what could not be read (the rest is read)."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    switches: dict[str, bool] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)


class SavedAutomations(Protocol):
    """The saved automations' texts and the enable switches, durably.

    Each write returns once it is durable (a file replaced whole, or a committed
    transaction). ``home`` is the automation's ``home:``, None for one that names none."""

    def name(self, automation_id: str) -> str:
        """How the saved text of ``automation_id`` is named to people."""
        ...

    async def read(self) -> Kept:
        """Every saved text and switch."""
        ...

    async def save(self, automation_id: str, home: str | None, text: str) -> None:
        """Keep ``text`` as the saved automation ``automation_id`` (in place of the old one)."""
        ...

    async def switch(self, automation_id: str, home: str | None, enabled: bool) -> None:
        """Keep ``automation_id`` switched on or off."""
        ...

    async def delete(self, automation_id: str) -> None:
        """Forget the saved text of ``automation_id`` and its switch."""
        ...


class SavedFiles:
    """Saved automations as files of ``<data_dir>/automations/``: ``saved/<id>.yaml`` and
    ``enabled.json``. Every write is ``carhome.files.write_atomically`` on a worker thread:
    after a crash the old file or the new one is there, never half of one."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / DIRECTORY
        self.saved = self.directory / SAVED
        self._switches: dict[str, bool] = {}

    def name(self, automation_id: str) -> str:
        return str(PurePosixPath(DIRECTORY, SAVED, f"{automation_id}.yaml"))

    def _shown(self, path: Path) -> str:
        return str(PurePosixPath(DIRECTORY, path.relative_to(self.directory).as_posix()))

    async def read(self) -> Kept:
        kept = await asyncio.to_thread(self._read)
        self._switches = dict(kept.switches)
        return kept

    def _read(self) -> Kept:
        kept = Kept()
        path = self.directory / ENABLED_FILE
        try:
            kept.switches.update(msgspec.json.decode(path.read_bytes(), type=dict[str, bool]))
        except FileNotFoundError:
            pass
        except (OSError, msgspec.DecodeError) as exc:
            kept.errors.append(ConfigError(f"cannot read the enable switches: {exc}", file=self._shown(path)))
        for path in sorted(self.saved.glob("*.yaml")) if self.saved.is_dir() else ():
            try:
                kept.texts.append(
                    (self._shown(path), boundedyaml.read_text(path, limits=boundedyaml.AUTOMATIONS))
                )
            except (OSError, UnicodeDecodeError) as exc:
                kept.errors.append(ConfigError(f"cannot read: {exc}", file=self._shown(path)))
            except ConfigError as exc:  # longer than a text may be: read no further
                kept.errors.append(ConfigError(exc.reason, file=self._shown(path)))
        return kept

    async def save(self, automation_id: str, home: str | None, text: str) -> None:
        await asyncio.to_thread(write_atomically, self.saved / f"{automation_id}.yaml", text.encode())

    async def switch(self, automation_id: str, home: str | None, enabled: bool) -> None:
        switches = {**self._switches, automation_id: enabled}
        await asyncio.to_thread(write_atomically, self.directory / ENABLED_FILE, _json(switches))
        self._switches = switches

    async def delete(self, automation_id: str) -> None:
        await asyncio.to_thread(delete_durably, self.saved / f"{automation_id}.yaml")
        switches = {k: v for k, v in self._switches.items() if k != automation_id}
        if switches != self._switches:
            await asyncio.to_thread(write_atomically, self.directory / ENABLED_FILE, _json(switches))
            self._switches = switches


def _json(value: dict[str, bool]) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode() + b"\n"
