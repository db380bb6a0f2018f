"""A hub's first owner: the one-time setup code, and the owner made with it.

A served hub that starts with no member makes a setup code at random and prints it on its
terminal (``carhome.compose.runtime``): whoever can read that terminal may create the first owner,
nobody else on the network. ``FirstRun`` keeps the code in memory only; it is

- valid once, and only while the hub has no member: the owner made with it spends it, and
  a hub that has an owner (made here, by ``carhome members add`` or by the demo) answers
  that setup is done, whatever code is given;
- compared in constant time;
- throttled like logins: each try takes its tokens from the hub's ``LoginThrottle`` under
  one account name (``SETUP_ACCOUNT``), so guessing it is as slow as guessing a password,
  and the right code gives them back.

A code is twelve characters from an alphabet without look-alikes (0/O, 1/I/L): about 60
bits, typed by hand from a terminal; dashes, spaces and case are ignored when it is given.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Final, Literal

import msgspec

from carhome.access.members import Member, Members
from carhome.access.passwords import Passwords
from carhome.access.throttle import Attempt, LoginThrottle
from carhome.errors import CarhomeError
from carhome.wire.members import Role

ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH: Final = 12
SETUP_ACCOUNT: Final = "\x00setup"
"""The throttle's account for setup tries (no member id can be it: ids are checked names)."""

SetupReason = Literal["done", "wrong_code", "throttled"]


class SetupRefused(CarhomeError):
    """The first owner was not made: ``reason`` is ``done`` (the hub has an owner),
    ``wrong_code`` or ``throttled`` (see ``retry_after``)."""

    def __init__(self, reason: SetupReason, retry_after: float = 0.0) -> None:
        hints = {
            "done": "this hub has its owner already; log in instead (an owner adds members)",
            "wrong_code": "the setup code is wrong; copy it from the terminal that started the hub",
            "throttled": f"too many tries; try again in {retry_after:.0f} s",
        }
        super().__init__(f"setup refused: {hints[reason]}")
        self.reason: SetupReason = reason
        self.retry_after = retry_after


def normalized(code: str) -> str:
    """A code as typed, without dashes, spaces and case."""
    return "".join(code.split()).replace("-", "").upper()


def shown(code: str) -> str:
    """A code in groups of four, as printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class FirstRun:
    """The setup code of a hub without members, and the making of its first owner."""

    def __init__(
        self, members: Members, passwords: Passwords, throttle: LoginThrottle, code: str | None = None
    ) -> None:
        self._members = members
        self._passwords = passwords
        self._throttle = throttle
        self._code = normalized(code) if code else "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        self._spent = False

    @classmethod
    def begin(cls, members: Members, passwords: Passwords, throttle: LoginThrottle) -> FirstRun | None:
        """A first run with a fresh code when the hub has no member; else None (no code)."""
        if any(True for _ in members):
            return None
        return cls(members, passwords, throttle)

    @property
    def code(self) -> str:
        """The code, in groups of four (for the terminal that started the hub)."""
        return shown(self._code)

    @property
    def needed(self) -> bool:
        """Whether the hub still waits for its first owner."""
        return not self._spent and not any(True for _ in self._members)

    async def create_owner(
        self, *, code: str, member: str, name: str, password: str, home: str, address: str
    ) -> Member:
        """Make ``member`` the owner of ``home`` if ``code`` is the setup code and the hub
        has no member yet; refused otherwise (``SetupRefused``), or for a bad id or a weak
        password (``InvalidName``, ``WeakPassword``) without spending the code."""
        if not self.needed:
            raise SetupRefused("done")
        attempt = self._throttle.attempt(SETUP_ACCOUNT, address)
        if not isinstance(attempt, Attempt):
            raise SetupRefused("throttled", attempt)
        if not hmac.compare_digest(normalized(code).encode(), self._code.encode()):
            raise SetupRefused("wrong_code")
        self._throttle.succeeded(attempt)
        record = Member(id=member, home=home, name=name.strip() or member, role=Role.OWNER)
        hashed = await asyncio.to_thread(self._passwords.hash, password)
        if not self.needed:  # another request made the owner while this one hashed
            raise SetupRefused("done")
        self._spent = True
        return await self._members.add(msgspec.structs.replace(record, password=hashed))
