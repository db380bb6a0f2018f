"""The CLI's client of the local API: typed calls, errors translated at this one edge.

``HubClient`` is an async context manager over ``httpx.AsyncClient``; pass ``transport``
to talk to an app in-process (``httpx.ASGITransport``) instead of over the network.
Responses are decoded into the structs of ``carhome.api.schema``. Transport failures
become ``ConnectorError`` with a message that says how to start a hub; problem-details
answers become ``ApiError`` carrying the problem's fields. With ``sessions`` (the CLI's
saved logins, ``carhome.cli.session``) every call carries the access token, and a 401
spends the refresh token once and retries.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
import msgspec

from carhome.access.members import Grant
from carhome.api.auth import Tokens as TokenOut
from carhome.api.members import AuditOut, MemberOut
from carhome.api.schema import (
    CommandList,
    DeviceDetail,
    DeviceOut,
    Health,
    HomeOut,
    Rejections,
)
from carhome.cli.session import Saved, Sessions
from carhome.errors import CarhomeError, ConnectorError
from carhome.hub import Command

DEFAULT_URL: Final = "http://127.0.0.1:8123"
# Beyond any server-side wait, how long to give the hub to answer.
_SLACK: Final = 10.0

_T = TypeVar("_T")


class ApiError(CarhomeError):
    """The hub answered with a problem (RFC 9457); ``fields`` holds the structured rest."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(detail)
        self.status = status
        self.type = str(problem.get("type", "about:blank"))
        self.detail = detail
        self.fields = problem


class HubClient:
    """Talks to one hub's local API."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        sessions: Sessions | None = None,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, transport=transport, timeout=timeout)
        self._sessions = sessions
        self._token = token

    # -- logging in -----------------------------------------------------------------------

    def saved(self) -> Saved | None:
        """The session this client uses, if it has one saved."""
        return self._saved()

    def _saved(self) -> Saved | None:
        return self._sessions.get(self.url) if self._sessions is not None else None

    def _auth_headers(self) -> dict[str, str]:
        saved = self._saved()
        token = self._token or (saved.access if saved is not None else None)
        return {"authorization": f"Bearer {token}"} if token else {}

    async def login(self, member: str, password: str) -> Saved:
        """Log in and keep the session (when this client has a session file)."""
        tokens = await self._call(
            "POST", "/api/auth/login", TokenOut, json={"member": member, "password": password}
        )
        return self._keep(tokens)

    def _keep(self, tokens: TokenOut) -> Saved:
        saved = Saved(
            tokens.access_token, tokens.refresh_token, tokens.expires_at, tokens.member, tokens.home
        )
        if self._sessions is not None:
            self._sessions.put(self.url, saved)
        return saved

    async def logout(self) -> Saved | None:
        """End the session at the hub (if it still knows it) and forget it here."""
        saved = self._saved()
        if saved is None:
            return None
        with contextlib.suppress(ApiError):
            await self._request("POST", "/api/auth/logout")
        if self._sessions is not None:
            self._sessions.forget(self.url)
        return saved

    async def _refresh(self) -> bool:
        """Spend the saved refresh token for a new pair; False if there is none or it failed."""
        saved = self._saved()
        if saved is None or self._token is not None:
            return False
        response = await self._send("POST", "/api/auth/refresh", json={"refresh": saved.refresh})
        if response.is_error:
            return False
        self._keep(msgspec.json.decode(response.content, type=TokenOut))
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    # -- resources ------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self._call("GET", "/api/health", Health)

    async def homes(self) -> list[HomeOut]:
        return await self._call("GET", "/api/homes", list[HomeOut])

    async def devices(self, home: str | None = None) -> list[DeviceOut]:
        params = {"home": home} if home else None
        return await self._call("GET", "/api/devices", list[DeviceOut], params=params)

    async def device(self, home: str, device: str) -> DeviceDetail:
        return await self._call("GET", f"/api/devices/{home}/{device}", DeviceDetail)

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
        return await self._call(
            "POST", f"/api/devices/{home}/{device}/commands", Command, json=body, wait=wait
        )

    async def command(self, command_id: str, *, wait: float | None = None) -> Command:
        params = {"wait": str(wait)} if wait else None
        return await self._call("GET", f"/api/commands/{command_id}", Command, params=params, wait=wait)

    async def commands(self, home: str | None = None, limit: int = 20) -> CommandList:
        params = {"limit": str(limit), **({"home": home} if home else {})}
        return await self._call("GET", "/api/commands", CommandList, params=params)

    async def rejections(self) -> Rejections:
        return await self._call("GET", "/api/rejections", Rejections)

    async def members(self) -> list[MemberOut]:
        return await self._call("GET", "/api/members", list[MemberOut])

    async def add_member(self, member: str, name: str, role: str, password: str | None) -> MemberOut:
        body = {"id": member, "name": name, "role": role, "password": password}
        return await self._call("POST", "/api/members", MemberOut, json=body)

    async def revoke_member(self, member: str) -> MemberOut:
        return await self._call("POST", f"/api/members/{member}/revoke", MemberOut)

    async def grant(self, member: str, grant: dict[str, Any]) -> Grant:
        return await self._call("POST", f"/api/members/{member}/grants", Grant, json=grant)

    async def audit(self, limit: int = 100) -> AuditOut:
        return await self._call("GET", "/api/audit", AuditOut, params={"limit": str(limit)})

    # -- the edge -------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        kind: type[_T],
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        wait: float | None = None,
    ) -> _T:
        response = await self._request(method, path, params=params, json=json, wait=wait)
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.DecodeError as exc:
            raise ConnectorError(
                f"{self.url} answered {method} {path} with something that is"
                f" not the carhome API ({exc}); is --hub right?"
            ) from exc

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        wait: float | None = None,
    ) -> httpx.Response:
        """Send with the access token; on a 401, refresh once and send again."""
        response = await self._send(method, path, params=params, json=json, wait=wait)
        if response.status_code == 401 and not path.startswith("/api/auth/") and await self._refresh():
            response = await self._send(method, path, params=params, json=json, wait=wait)
        if response.is_error:
            raise _problem(response)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        wait: float | None = None,
    ) -> httpx.Response:
        timeout = httpx.USE_CLIENT_DEFAULT if not wait else wait + _SLACK
        headers = self._auth_headers()
        if json is not None:
            headers["content-type"] = "application/json"
        try:
            return await self._http.request(
                method,
                path,
                params=params,
                content=None if json is None else msgspec.json.encode(json),
                headers=headers,
                timeout=timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectorError(
                f"no carhome hub at {self.url} — start one with `carhome demo` or pass --hub"
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorError(f"lost the hub at {self.url}: {exc or type(exc).__name__}") from exc


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        return ApiError(response.status_code, body)
    text = response.text[:200].strip() or response.reason_phrase
    return ApiError(
        response.status_code,
        {"detail": f"HTTP {response.status_code} from {response.url}: {text} (is this a carhome hub?)"},
    )
