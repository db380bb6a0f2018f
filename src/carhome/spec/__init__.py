"""Device specs as data: properties, actions, events, and the VSS signal catalog.

Pure data and validation; this package imports nothing else of carhome.
"""

from carhome.spec.devices import SPECS
from carhome.spec.properties import (
    Access,
    ActionSpec,
    DeviceSpec,
    EventSpec,
    Format,
    InvalidValue,
    PropertySpec,
)

__all__ = [
    "SPECS",
    "Access",
    "ActionSpec",
    "DeviceSpec",
    "EventSpec",
    "Format",
    "InvalidValue",
    "PropertySpec",
]
