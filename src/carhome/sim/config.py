"""The ``sim:`` section: which homes' devices the simulator plays, and whether the household drives."""

from __future__ import annotations

import msgspec


class SimConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    homes: tuple[str, ...] = ()
    """Ids of the homes whose devices the simulator plays (all homes when empty)."""
    routine: bool = True
    """The household's weekly trips drive the car, in the home's local time. Off, nobody
    drives: the car stays at home (plugged in when it needs a charge, as on coming home),
    the same scene on every day of the week (for tests)."""
