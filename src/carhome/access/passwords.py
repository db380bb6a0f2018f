"""Password hashing with argon2id (argon2-cffi); plain passwords are never stored.

``Passwords`` hashes and checks; its cost parameters default to argon2-cffi's (RFC 9106
low-memory profile). Checking is CPU-heavy on purpose, so the async login path runs it
in a worker thread.
"""

from __future__ import annotations

from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from carhome.errors import CarhomeError

MIN_LENGTH: Final = 8


class WeakPassword(CarhomeError, ValueError):
    """A new password is too short to accept."""


class Passwords:
    """Hashes and checks passwords; pass small costs only in tests."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            parallelism=defaults.parallelism,
        )

    def hash(self, password: str) -> str:
        if len(password) < MIN_LENGTH:
            raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
        return self._hasher.hash(password)

    def check(self, stored: str | None, password: str) -> bool:
        """True if ``password`` matches ``stored``; a missing or damaged hash never matches."""
        if stored is None:
            # Spend the same work as a real check, so a missing account does not answer faster.
            self._hasher.hash(password or "x")
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
