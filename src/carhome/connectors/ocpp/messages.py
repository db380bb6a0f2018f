"""Typed OCPP messages, version-neutral: what the edge decodes into and what it encodes from.

Nothing past ``edge.py`` sees an OCPP payload; it sees these.
"""

from __future__ import annotations

from typing import Literal

import msgspec

OcppVersion = Literal["1.6", "2.0.1"]
SUBPROTOCOLS: dict[str, OcppVersion] = {"ocpp2.0.1": "2.0.1", "ocpp1.6": "1.6"}

# OCPP connector states, both versions, to the wallbox spec's ``status``.
STATUS: dict[str, str] = {
    "Available": "available",
    "Preparing": "preparing",
    "Occupied": "preparing",
    "Charging": "charging",
    "EVConnected": "preparing",
    "SuspendedEV": "suspended_ev",
    "SuspendedEVSE": "suspended_evse",
    "Finishing": "finishing",
    "Idle": "available",
    "Reserved": "unavailable",
    "Unavailable": "unavailable",
    "Faulted": "faulted",
}


class Sample(msgspec.Struct, frozen=True):
    """One meter reading: energy register (Wh) and/or active power (W) at ``ts`` (epoch s)."""

    ts: float
    energy_wh: float | None = None
    power_w: float | None = None


class Outcome(msgspec.Struct, frozen=True):
    """A charger's answer to a request from carhome."""

    accepted: bool
    status: str
