"""Typed OCPP messages, version-neutral: what the edge decodes into and what it encodes from.

Nothing past ``edge.py`` sees an OCPP payload; it sees these.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from carhome.hub.commands import Command, CommandKind

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
    """A charger's answer to a request from carhome; ``detail`` is what it said besides
    the status (a ``DataTransfer``'s data: the refusal of a signed command, a key answer)."""

    accepted: bool
    status: str
    detail: str = ""


# Signed commands and key asks ride the standard OCPP ``DataTransfer`` (both versions), so
# a charger that verifies needs no change to the protocol, and one that does not says
# ``UnknownVendorId`` instead of starting anything.
VENDOR_ID: Final = "carhome"
SIGNED_COMMAND: Final = "signed-command"
SESSION_ASK: Final = "session"
ENROLL_ASK: Final = "enroll"
NO_SIGNATURES: Final = "no_signatures"
"""The reason a key ask to a charger that does not speak carhome's DataTransfer is refused."""


class SignedCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The data of a ``signed-command`` DataTransfer: what the charger's keeper checks
    (``DeviceKeys.check``, with its ``CommandFields``) before it lets the start call that
    follows run.

    It travels as a JSON string, not an object: the ``ocpp`` library renames the keys of
    nested objects (camelCase ↔ snake_case), which would alter the signed arguments."""

    id: str
    kind: CommandKind
    target: str
    args: dict[str, Any]
    member: str
    expires: float
    signature: str

    @classmethod
    def of(cls, command: Command, signature: str) -> SignedCommand:
        """The signed fields of ``command``, with the ``signature`` that binds them."""
        return cls(
            id=command.id,
            kind=command.kind,
            target=command.target,
            args=command.args,
            member=command.member,
            expires=command.expires,
            signature=signature,
        )
