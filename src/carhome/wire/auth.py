"""Logging in on the wire: ``POST /api/auth/login``, ``/refresh`` and the tokens they answer."""

from __future__ import annotations

import msgspec


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    member: str
    password: str


class RefreshRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh: str


class Tokens(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_at: float
    member: str
    home: str
