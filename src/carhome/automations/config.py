"""The ``automations:`` section of the configuration: automation files the hub loads."""

from __future__ import annotations

import msgspec


class AutomationsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Automation files or directories loaded beside the data directory's own, read-only
    (relative to the config file). A shared file's ``homes: [...]`` gives each of its homes
    the file's automations; a fleet worker binds, in each partition, the homes it holds."""

    files: tuple[str, ...] = ()
