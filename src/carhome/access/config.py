"""The ``access:`` section: signatures required, tokens' life, chargers trusted unsigned."""

from __future__ import annotations

from typing import Annotated

import msgspec


class UnsignedChargingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A charger that cannot verify signatures, trusted by an owner for charging alone."""

    device: str
    owner: str
    """The owner (a member id) who trusts it; the trust ends when they are no longer one."""
    home: str | None = None
    """The charger's home; may be left out when there is one home."""


class AccessConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Access control: members log in; every command is decided and audited."""

    require_signatures: bool = True
    """Refuse safety-critical commands (doors, locks, garage, charging start) that do not
    carry the member's end-to-end signature."""
    unsigned_charging: tuple[UnsignedChargingConfig, ...] = ()
    """Wallboxes (and cars with an OVMS module) that cannot verify signatures, whose charging
    commands an owner lets pass unsigned (each one on record in the audit log); doors, locks
    and the garage, and every other charger, keep needing signatures."""
    access_token_minutes: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 5.0
    """How long an access token lives; a refresh token renews it."""
