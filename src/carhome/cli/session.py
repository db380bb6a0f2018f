"""The CLI's logins: one session per hub, kept in a file only this user can read.

``carhome login`` exchanges a member's password for a token pair and keeps it in
``$XDG_STATE_HOME/carhome/sessions.json`` (``~/.local/state/carhome`` when unset), mode
0600, keyed by the hub's URL. Every later command sends the access token; when the hub
answers 401 because it expired, the client spends the refresh token once for a new pair
and retries. ``carhome logout`` ends the session at the hub and forgets it here.
``CARHOME_TOKEN`` (an access token) overrides the file, for scripts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec

from carhome.files import write_atomically

FILE_NAME: Final = "sessions.json"
TOKEN_ENV: Final = "CARHOME_TOKEN"  # noqa: S105 - the variable's name, not a token


class Saved(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    access: str
    refresh: str
    expires: float
    member: str
    home: str


def sessions_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "carhome" / FILE_NAME


class Sessions:
    """The saved sessions, by hub URL."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or sessions_file()

    def _all(self) -> dict[str, Saved]:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=dict[str, Saved])
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return {}

    def get(self, url: str) -> Saved | None:
        return self._all().get(url)

    def put(self, url: str, saved: Saved) -> None:
        everything = self._all()
        everything[url] = saved
        self._write(everything)

    def forget(self, url: str) -> Saved | None:
        everything = self._all()
        gone = everything.pop(url, None)
        self._write(everything)
        return gone

    def _write(self, everything: dict[str, Saved]) -> None:
        write_atomically(self.path, msgspec.json.encode(everything))
