"""The kernel: state store, event bus, command router and clock."""

from carhome.hub.bus import EventBus, Subscription
from carhome.hub.commands import (
    Ack,
    AllowAll,
    Command,
    CommandRouter,
    CommandSigner,
    CommandStatus,
    Decision,
    Gatekeeper,
    Transport,
)
from carhome.hub.hub import Hub, Report
from carhome.hub.model import Device, Home, Place
from carhome.hub.persistence import StateRow, Store
from carhome.hub.states import Change, State

__all__ = [
    "Ack",
    "AllowAll",
    "Change",
    "Command",
    "CommandRouter",
    "CommandSigner",
    "CommandStatus",
    "Decision",
    "Device",
    "EventBus",
    "Gatekeeper",
    "Home",
    "Hub",
    "Place",
    "Report",
    "State",
    "StateRow",
    "Store",
    "Subscription",
    "Transport",
]
