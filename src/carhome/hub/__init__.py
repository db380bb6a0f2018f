"""The kernel: state store, the one event bus, command router and clock."""

from carhome.hub.bus import EventBus, Record, Subscription
from carhome.hub.commands import (
    Ack,
    AllowAll,
    Command,
    CommandRouter,
    CommandSigner,
    CommandStatus,
    Decision,
    Gatekeeper,
    Result,
    Transport,
    derived_id,
)
from carhome.hub.events import Event
from carhome.hub.hub import Hub, Report
from carhome.hub.model import Device, Home, Place
from carhome.hub.persistence import StateRow, Store
from carhome.hub.states import AVAILABILITY, Availability, Change, State

__all__ = [
    "AVAILABILITY",
    "Ack",
    "AllowAll",
    "Availability",
    "Change",
    "Command",
    "CommandRouter",
    "CommandSigner",
    "CommandStatus",
    "Decision",
    "Device",
    "Event",
    "EventBus",
    "Gatekeeper",
    "Home",
    "Hub",
    "Place",
    "Record",
    "Report",
    "Result",
    "State",
    "StateRow",
    "Store",
    "Subscription",
    "Transport",
    "derived_id",
]
