"""The ``carhome`` command's exit codes, one table for every command (the README's).

Scripts branch on these; people read the message printed beside them.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
"""Done: the command was acked, the answer printed."""
HUB: Final = 1
"""The hub could not be reached, or answered with an error (unknown device, not logged in),
or a file could not be read or written; the message says which and what to do."""
USAGE: Final = 2
"""The command line is wrong (a missing argument, an unknown option, a bad value)."""
REFUSED: Final = 3
"""Refused, failed or expired: access said no, the device failed the command, it expired,
or the audit log was altered."""
PENDING: Final = 4
"""Sent and not answered yet (``--wait`` ran out)."""
NOT_UNDERSTOOD: Final = 5
"""``carhome say``: ambiguous or not understood."""

DOCUMENTED: Final[dict[int, str]] = {
    OK: "done",
    HUB: "hub error",
    USAGE: "usage error",
    REFUSED: "refused, failed or expired",
    PENDING: "still pending",
    NOT_UNDERSTOOD: "not understood",
}
"""Every exit code and its words, as the README's table has them."""
