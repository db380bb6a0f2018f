"""carhome: the electric car as a first-class member of the smart home.

The public surface is what this module exports; everything else is internal and may
change. Parts with their own surface: ``carhome.spec`` (device specs), ``carhome.hub``
(the kernel), ``carhome.store``, ``carhome.connectors.mqtt``, ``carhome.sim``,
``carhome.automations``, ``carhome.energy``, ``carhome.access``, ``carhome.signing`` and
``carhome.testing``.
"""

from carhome.clock import Clock, ScaledClock, SystemClock
from carhome.errors import (
    BrokerUnavailable,
    CarhomeError,
    CommandDenied,
    CommandError,
    CommandTimeout,
    ConfigError,
    ConnectorError,
    DeviceRefused,
    InvalidChange,
    InvalidCommand,
    InvalidName,
    SpecError,
    StoreError,
    UnknownDevice,
)
from carhome.hub import Ack, Change, Command, CommandStatus, Device, Home, Hub, Place, State
from carhome.spec import SPECS, DeviceSpec

__version__ = "0.1.0"

__all__ = [
    "SPECS",
    "Ack",
    "BrokerUnavailable",
    "CarhomeError",
    "Change",
    "Clock",
    "Command",
    "CommandDenied",
    "CommandError",
    "CommandStatus",
    "CommandTimeout",
    "ConfigError",
    "ConnectorError",
    "Device",
    "DeviceRefused",
    "DeviceSpec",
    "Home",
    "Hub",
    "InvalidChange",
    "InvalidCommand",
    "InvalidName",
    "Place",
    "ScaledClock",
    "SpecError",
    "State",
    "StoreError",
    "SystemClock",
    "UnknownDevice",
    "__version__",
]
