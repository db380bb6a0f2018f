"""The CLI's client of the hub's API: typed calls over ``carhome.wire.client.ApiClient``.

``HubClient`` adds one method per call the CLI makes, and keeps its logins in the CLI's
session file (``carhome.cli.session``: one session per hub URL); the requests, the refresh
on a 401 and the translation of errors (``ApiError``, ``ConnectorError``) are
``ApiClient``'s. Pass ``transport`` to talk to an app in-process (``httpx.ASGITransport``).
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from carhome import ports
from carhome.cli.session import Saved, Sessions
from carhome.hub import Command
from carhome.wire.auth import Tokens
from carhome.wire.client import ApiClient
from carhome.wire.commands import CommandList
from carhome.wire.devices import DeviceDetail, DeviceOut, HomeOut
from carhome.wire.health import Health
from carhome.wire.members import AuditOut, Grant, MemberOut
from carhome.wire.problems import ApiError
from carhome.wire.rejections import Rejections
from carhome.wire.setup import DeviceHints, FirstOwner, HomeSettings, HomeSetup, SetupStatus

DEFAULT_URL: Final = f"http://127.0.0.1:{ports.API}"

__all__ = ["DEFAULT_URL", "ApiError", "HubClient"]


class _SessionKeeper:
    """The token pair of one hub, kept in the CLI's session file."""

    def __init__(self, sessions: Sessions, url: str) -> None:
        self._sessions = sessions
        self._url = url

    def saved(self) -> Saved | None:
        return self._sessions.get(self._url)

    def access(self) -> str | None:
        saved = self.saved()
        return saved.access if saved is not None else None

    def refresh_token(self) -> str | None:
        saved = self.saved()
        return saved.refresh if saved is not None else None

    def keep(self, tokens: Tokens) -> None:
        self._sessions.put(
            self._url,
            Saved(tokens.access_token, tokens.refresh_token, tokens.expires_at, tokens.member, tokens.home),
        )

    def forget(self) -> None:
        self._sessions.forget(self._url)


class HubClient(ApiClient):
    """Talks to one hub's API for the CLI."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        sessions: Sessions | None = None,
        token: str | None = None,
    ) -> None:
        url = url.rstrip("/")
        self._saved_sessions = _SessionKeeper(sessions, url) if sessions is not None else None
        super().__init__(url, transport=transport, timeout=timeout, token=token, keeper=self._saved_sessions)

    # -- logging in -----------------------------------------------------------------------

    def saved(self) -> Saved | None:
        """The session this client uses, if it has one saved."""
        return self._saved_sessions.saved() if self._saved_sessions is not None else None

    # -- resources ------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self.call("GET", "/api/health", Health)

    async def homes(self) -> list[HomeOut]:
        return await self.call("GET", "/api/homes", list[HomeOut])

    async def devices(self, home: str | None = None) -> list[DeviceOut]:
        params = {"home": home} if home else None
        return await self.call("GET", "/api/devices", list[DeviceOut], params=params)

    async def device(self, home: str, device: str) -> DeviceDetail:
        return await self.call("GET", f"/api/devices/{home}/{device}", DeviceDetail)

    async def submit(
        self,
        home: str,
        device: str,
        *,
        kind: str,
        target: str,
        args: dict[str, Any],
        ttl: float | None = None,
        wait: float | None = None,
    ) -> Command:
        body: dict[str, Any] = {"kind": kind, "target": target, "args": args}
        if ttl is not None:
            body["ttl"] = ttl
        if wait:
            body["wait"] = wait
        return await self.call(
            "POST", f"/api/devices/{home}/{device}/commands", Command, body=body, wait=wait
        )

    async def command(self, command_id: str, *, wait: float | None = None) -> Command:
        params = {"wait": str(wait)} if wait else None
        return await self.call("GET", f"/api/commands/{command_id}", Command, params=params, wait=wait)

    async def commands(self, home: str | None = None, limit: int = 20) -> CommandList:
        params = {"limit": str(limit), **({"home": home} if home else {})}
        return await self.call("GET", "/api/commands", CommandList, params=params)

    async def rejections(self) -> Rejections:
        return await self.call("GET", "/api/rejections", Rejections)

    async def members(self) -> list[MemberOut]:
        return await self.call("GET", "/api/members", list[MemberOut])

    async def add_member(self, member: str, name: str, role: str, password: str | None) -> MemberOut:
        body = {"id": member, "name": name, "role": role, "password": password}
        return await self.call("POST", "/api/members", MemberOut, body=body)

    async def revoke_member(self, member: str) -> MemberOut:
        return await self.call("POST", f"/api/members/{member}/revoke", MemberOut)

    async def grant(self, member: str, grant: dict[str, Any]) -> Grant:
        return await self.call("POST", f"/api/members/{member}/grants", Grant, body=grant)

    async def audit(self, limit: int = 100) -> AuditOut:
        return await self.call("GET", "/api/audit", AuditOut, params={"limit": str(limit)})

    # -- the first run ----------------------------------------------------------------------

    async def setup_status(self) -> SetupStatus:
        return await self.call("GET", "/api/setup", SetupStatus)

    async def first_owner(self, owner: FirstOwner) -> Tokens:
        """Make the hub's first owner with its setup code; this client keeps their tokens."""
        tokens = await self.call("POST", "/api/setup/owner", Tokens, body=owner)
        if self._keeper is not None:
            self._keeper.keep(tokens)
        return tokens

    async def setup_home(self) -> HomeSetup:
        return await self.call("GET", "/api/setup/home", HomeSetup)

    async def set_setup_home(self, settings: HomeSettings) -> HomeSetup:
        return await self.call("PUT", "/api/setup/home", HomeSetup, body=settings)

    async def device_hints(self) -> DeviceHints:
        return await self.call("GET", "/api/setup/devices", DeviceHints)
