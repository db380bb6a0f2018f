"""Files written so that a crash leaves the old one or the new one, never half of one.

Every file carhome keeps for later — automation files and their switches, MQTT
credentials and the broker's configuration, a device's verifier state and enrolled keys,
the CLI's sessions, the token secret, the demo owner's password — is written here, the
same way:

1. the data goes to a temporary file beside the target (``.<name>.<random>.tmp``: hidden,
   and not ``*.yaml``, so no loader reads it), made mode 0600 from its first byte;
2. the temporary file is fsynced, so its contents are on disk;
3. it is renamed over the target (``write_atomically``) or linked in where no file is
   (``create_atomically``, which never replaces one);
4. the directory is fsynced, so the rename itself is on disk.

A crash at any point leaves the old file (or none) or the new one, whole. Missing parent
directories are made mode 0700 (``carhome.private``); an existing one is left as it is.

These calls block on the disk: code on the event loop runs them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from carhome.private import FILE_MODE, private_dir


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` (mode 0600), durably and whole."""
    target = Path(path)
    temp = _written(target, data)
    try:
        os.replace(temp, target)
    except BaseException:
        _discard(temp)
        raise
    fsync_directory(target.parent)
    return target


def create_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Make the file at ``path`` holding ``data`` (mode 0600), durably and whole;
    ``FileExistsError`` if there is one already: it is never replaced."""
    target = Path(path)
    temp = _written(target, data)
    try:
        # a hard link appears whole or not at all, and refuses a name that is taken
        os.link(temp, target)
    finally:
        _discard(temp)
    fsync_directory(target.parent)
    return target


def delete_durably(path: str | os.PathLike[str]) -> None:
    """Remove the file at ``path`` (nothing if it is gone) and put the removal on disk."""
    target = Path(path)
    target.unlink(missing_ok=True)
    fsync_directory(target.parent)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Put the names in ``directory`` (a rename, a new or removed file) on disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _written(target: Path, data: bytes) -> Path:
    """A temporary file beside ``target`` holding ``data``, on disk."""
    if not target.parent.exists():
        private_dir(target.parent)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        _discard(temp)
        raise
    return temp


def _discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        temp.unlink()
