"""The CLI's client of the local API: typed calls, errors translated at this one edge.

``HubClient`` is an async context manager over ``httpx.AsyncClient``; pass ``transport``
to talk to an app in-process (``httpx.ASGITransport``) instead of over the network.
Responses are decoded into the structs of ``carhome.api.schema``. Transport failures
become ``ConnectorError`` with a message that says how to start a hub; problem-details
answers become ``ApiError`` carrying the problem's fields.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
import msgspec

from carhome.api.schema import (
    CommandList,
    DeviceDetail,
    DeviceOut,
    Health,
    HomeOut,
    Rejections,
)
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
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, transport=transport, timeout=timeout)

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
        timeout = httpx.USE_CLIENT_DEFAULT if not wait else wait + _SLACK
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                content=None if json is None else msgspec.json.encode(json),
                headers={"content-type": "application/json"} if json is not None else None,
                timeout=timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectorError(
                f"no carhome hub at {self.url} — start one with `carhome demo` or pass --hub"
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorError(f"lost the hub at {self.url}: {exc or type(exc).__name__}") from exc
        if response.is_error:
            raise _problem(response)
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.DecodeError as exc:
            raise ConnectorError(
                f"{self.url} answered {method} {path} with something that is"
                f" not the carhome API ({exc}); is --hub right?"
            ) from exc


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
