"""Files and directories that hold secrets or home data, readable by their owner only.

Password hashes and the audit chain (``access.db``), the home's state, commands and
history (``carhome.db`` and the databases beside it), the timers, MQTT credentials,
delegate and device keys and the demo owner's password are nobody else's business on a
shared machine. ``private_dir`` makes a directory, and each missing parent, mode 0700;
``private_file`` makes a file mode 0600 before anything writes to it — SQLite gives a
database's ``-wal`` and ``-shm`` files the database file's mode — and takes the group's and
others' bits off one an older carhome left readable.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Final

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a directory only its owner may enter (made, with missing parents, if need be)."""
    directory = Path(path)
    missing: list[Path] = []
    at = directory
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):
            made.mkdir(mode=DIR_MODE)
    _tighten(directory)
    return directory


def private_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file only its owner may read (made empty if missing, never truncated)."""
    file = Path(path)
    fd = os.open(file, os.O_RDONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    _tighten(file)
    return file


def _tighten(path: Path) -> None:
    with contextlib.suppress(OSError):  # another user's file: theirs to mind
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & ~0o077)
