"""Automations: triggers, conditions and actions across the car and the home.

Users write them as YAML (see ``examples/automations/``); ``loader`` decodes the files into
typed structs, reporting each bad automation with file and line; ``Engine`` binds them to
a hub, fires them from the bus on every crossing, runs their actions in their mode and
keeps a trace of every run. Delays, waits and ``for:`` timers are kept in a ``TimerStore``
(``MemoryTimerStore``, ``SqliteTimerStore``, ``PostgresTimerStore``) and resumed after a restart.
"""

from carhome.automations.automation import Automation
from carhome.automations.engine import Engine
from carhome.automations.loader import Loaded, Source, load_path, load_text
from carhome.automations.notifications import Notification, Notifications
from carhome.automations.postgres_timers import PostgresTimerStore
from carhome.automations.sqlite_timers import SqliteTimerStore
from carhome.automations.timers import MemoryTimerStore, SavedTimer, TimerStore
from carhome.automations.traces import StepTrace, Trace
from carhome.automations.triggers import TriggerEvent

__all__ = [
    "Automation",
    "Engine",
    "Loaded",
    "MemoryTimerStore",
    "Notification",
    "Notifications",
    "PostgresTimerStore",
    "SavedTimer",
    "Source",
    "SqliteTimerStore",
    "StepTrace",
    "TimerStore",
    "Trace",
    "TriggerEvent",
    "load_path",
    "load_text",
]
