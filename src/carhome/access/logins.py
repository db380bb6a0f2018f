"""Logging in: throttle, check the password, open a session.

Each attempt takes its tokens from the ``LoginThrottle`` first, so guessing is slow whether
it aims at one account from one address, many accounts from one, or one account from many;
a right password gives them back, so only wrong ones count and a stranger's guesses from
another address never keep a member out. A throttled attempt is refused before its
password is looked at: being throttled tells nothing about the password. The argon2 check
runs in a worker thread. Every refusal looks the same to the caller (``bad_credentials``)
except ``throttled``, which says when to try again.
"""

from __future__ import annotations

import asyncio

from carhome.access.members import Members
from carhome.access.passwords import Passwords
from carhome.access.throttle import Attempt, LoginThrottle
from carhome.access.tokens import TokenPair, Tokens
from carhome.errors import CarhomeError


class LoginRefused(CarhomeError):
    """A login failed: ``reason`` is ``bad_credentials`` or ``throttled`` (see ``retry_after``)."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        hint = f"; try again in {retry_after:.0f} s" if retry_after else "; check the member id and password"
        super().__init__(f"login refused: {reason}{hint}")
        self.reason = reason
        self.retry_after = retry_after


class Logins:
    def __init__(
        self, members: Members, passwords: Passwords, tokens: Tokens, throttle: LoginThrottle
    ) -> None:
        self._members = members
        self._passwords = passwords
        self._tokens = tokens
        self._throttle = throttle

    async def login(self, member_id: str, password: str, address: str) -> TokenPair:
        attempt = self._throttle.attempt(member_id, address)
        if not isinstance(attempt, Attempt):
            raise LoginRefused("throttled", attempt)
        member = self._members.get(member_id)
        stored = member.password if member is not None and not member.revoked else None
        ok = await asyncio.to_thread(self._passwords.check, stored, password)
        if not ok or member is None:
            raise LoginRefused("bad_credentials")
        self._throttle.succeeded(attempt)
        return await self._tokens.open_session(member)
