"""Parts with one shape: what every connector and service of the hub is, and what it is given.

A ``Part`` has a name, its config section type (a msgspec struct beside its code, or None)
and ``start(context, section)``, an async context manager that runs the part until it is
left. The ``Context`` holds what every part may use — the hub, the clock, the data
directory, the access seam, a sink for HTTP routes — and a typed registry of what parts
provide each other (``context.provide(KEY, value)``, ``context.need(KEY)``), so no part
imports another. ``carhome.compose`` is the one place that imports the parts and runs them
in order.
"""

from carhome.parts.access import LOCATION, MANAGE_AUTOMATIONS, AccessControl, Revocation
from carhome.parts.part import Context, DefaultedPart, Key, Part, RouteSink, SectionPart, ServicePart

__all__ = [
    "LOCATION",
    "MANAGE_AUTOMATIONS",
    "AccessControl",
    "Context",
    "DefaultedPart",
    "Key",
    "Part",
    "Revocation",
    "RouteSink",
    "SectionPart",
    "ServicePart",
]
