"""Roles: what a key's holder (and a member) is to the home.

An enrolled key carries its holder's role, and a device lets only an owner's key approve a
new key or revoke one, so the role is part of the protocol: it is signed into every
enrollment (``carhome.signing.enrollment``). The hub's members have the same roles
(``carhome.wire.members`` re-uses this one).
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a key's holder is to the home; only an owner's key may approve a new key."""

    OWNER = "owner"
    FAMILY = "family"
    GUEST = "guest"
