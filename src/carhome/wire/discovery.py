"""Where a running hub says it listens, so the CLI in another terminal finds it.

A hub that serves the local API writes its address to a well-known file,
``$XDG_STATE_HOME/carhome/hub.json`` (``~/.local/state/carhome/hub.json`` when the
variable is unset), and removes it when it stops. The CLI reads it when neither ``--hub``
nor ``CARHOME_HUB`` says where to go. It lives below both faces: the API's server writes
it, the CLI reads it. A file left by a hub that died is recognised by its
process id and ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec

from carhome.files import write_atomically

FILE_NAME: Final = "hub.json"


class HubAddress(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The content of the address file."""

    url: str
    pid: int


def address_file() -> Path:
    """The path of the address file for this user."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "carhome" / FILE_NAME


def write_hub_address(url: str, *, path: Path | None = None) -> Path:
    """Announce that this process serves the local API at ``url``; returns the file."""
    path = path or address_file()
    # a reader never sees half a file
    return write_atomically(path, msgspec.json.encode(HubAddress(url=url, pid=os.getpid())))


def read_hub_address(*, path: Path | None = None) -> str | None:
    """The URL a live hub announced, or ``None`` (no file, unreadable, or its hub is gone)."""
    path = path or address_file()
    try:
        address = msgspec.json.decode(path.read_bytes(), type=HubAddress)
    except (OSError, msgspec.DecodeError):
        return None
    return address.url if _alive(address.pid) else None


def clear_hub_address(url: str, *, path: Path | None = None) -> None:
    """Remove the announcement of ``url`` if it is still this process's (a newer hub wins)."""
    path = path or address_file()
    try:
        address = msgspec.json.decode(path.read_bytes(), type=HubAddress)
    except (OSError, msgspec.DecodeError):
        return
    if address.url == url and address.pid == os.getpid():
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours to signal
    return True
