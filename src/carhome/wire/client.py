"""The one HTTP client of the hub's API: the CLI and the phone's key client both use it.

``ApiClient`` is an async context manager over ``httpx.AsyncClient``; pass ``transport`` to
talk to an app in-process (``httpx.ASGITransport``). ``call`` sends a request and decodes
the answer into a struct of ``carhome.wire``. Errors are translated here, once:

- an answer with an error status becomes ``ApiError`` (``carhome.wire.problems``): its
  problem's sentence, with ``status``, ``code`` and the problem's fields for scripts;
- a hub that cannot be reached, or is lost mid-request, is a ``ConnectorError`` naming the
  URL and the reason;
- an answer that is not the API's JSON is a ``ConnectorError`` saying so.

Logging in: ``login`` spends a member's password for a token pair, ``refresh`` the refresh
token, ``logout`` ends the session. Where the pair is kept is the caller's (a ``TokenKeeper``:
the CLI's session file); with one, every request carries the access token, and an answer
401 spends the refresh token once and sends the request again. A fixed ``token`` (a script's)
is sent as it is and never refreshed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeVar

import httpx
import msgspec

from carhome.errors import ConnectorError
from carhome.wire.auth import Tokens
from carhome.wire.problems import ApiError

# Beyond any server-side wait, how long to give the hub to answer.
_SLACK: Final = 10.0
_AUTH: Final = "/api/auth/"

_T = TypeVar("_T")


class TokenKeeper(Protocol):
    """Where a client keeps its token pair (the CLI: one session per hub in a file)."""

    def access(self) -> str | None:
        """The access token to send, if there is one."""
        ...

    def refresh_token(self) -> str | None:
        """The refresh token to spend when the access token is refused, if there is one."""
        ...

    def keep(self, tokens: Tokens) -> None:
        """Keep a new pair (after a login or a refresh)."""
        ...

    def forget(self) -> None:
        """The session ended: forget the pair."""
        ...


class ApiClient:
    """Talks to one hub's HTTP API."""

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        keeper: TokenKeeper | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url, transport=transport, timeout=timeout, headers=dict(headers or {})
        )
        self._token = token
        self._keeper = keeper

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    # -- logging in -----------------------------------------------------------------------

    async def login(self, member: str, password: str) -> Tokens:
        """Log in as ``member``; the keeper keeps the pair."""
        tokens = await self.call(
            "POST", "/api/auth/login", Tokens, body={"member": member, "password": password}
        )
        if self._keeper is not None:
            self._keeper.keep(tokens)
        return tokens

    async def refresh(self) -> bool:
        """Spend the kept refresh token for a new pair; False if there is none or it was refused."""
        refresh = self._keeper.refresh_token() if self._keeper is not None and self._token is None else None
        if refresh is None or self._keeper is None:
            return False
        response = await self._send("POST", "/api/auth/refresh", body={"refresh": refresh})
        if response.is_error:
            return False
        self._keeper.keep(self._decode(response, Tokens))
        return True

    async def logout(self) -> None:
        """End the session at the hub (if it still knows it) and forget it here."""
        with contextlib.suppress(ApiError):
            await self.request("POST", "/api/auth/logout")
        if self._keeper is not None:
            self._keeper.forget()

    # -- requests -------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        kind: type[_T],
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        wait: float | None = None,
    ) -> _T:
        """Send a request and decode its answer as a ``kind``."""
        return self._decode(await self.request(method, path, params=params, body=body, wait=wait), kind)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        wait: float | None = None,
    ) -> httpx.Response:
        """Send with the access token; on a 401, refresh once and send again; an error
        answer is an ``ApiError``. ``wait``: seconds the hub may hold the request."""
        response = await self._send(method, path, params=params, body=body, wait=wait)
        if response.status_code == 401 and not path.startswith(_AUTH) and await self.refresh():
            response = await self._send(method, path, params=params, body=body, wait=wait)
        if response.is_error:
            raise plain(
                ApiError.from_answer(
                    response.status_code, response.content, url=self.url, phrase=response.reason_phrase
                ),
                self.url,
            )
        return response

    def _decode(self, response: httpx.Response, kind: type[_T]) -> _T:
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.DecodeError as exc:
            raise ConnectorError(
                f"{self.url} answered with something that is not the carhome API ({exc});"
                " is that the hub's address?"
            ) from exc

    def _headers(self, body: Any) -> dict[str, str]:
        token = self._token or (self._keeper.access() if self._keeper is not None else None)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["content-type"] = "application/json"
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        wait: float | None = None,
    ) -> httpx.Response:
        timeout = httpx.USE_CLIENT_DEFAULT if not wait else wait + _SLACK
        try:
            return await self._http.request(
                method,
                path,
                params=dict(params) if params else None,
                content=None if body is None else msgspec.json.encode(body),
                headers=self._headers(body),
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            raise ConnectorError(f"cannot reach the hub at {self.url}: {_reason(exc)}") from exc


def plain(error: ApiError, url: str) -> ApiError:
    """``error`` said in a person's words where the hub's sentence speaks HTTP or names
    internal codes: what went wrong and what to do. ``code``, ``status`` and the fields stay
    for scripts, and the hub's own sentence is kept as the field ``hub_detail``."""
    reason = error.reason
    said: str | None = None
    if error.code == "unauthorized":
        if reason == "wrong member or password":
            said = "wrong member or password: check both and try again (`carhome login MEMBER`)"
        else:
            said = (
                f"you are not logged in to the hub at {url}"
                f"{f' ({reason.replace(chr(95), chr(32))})' if reason else ''}:"
                " log in with `carhome login MEMBER`, or in the web app"
            )
    elif error.code == "key-refused":
        words = (reason or "refused").replace("_", " ")
        said = f"the device refused this machine's key ({words})"
        if reason in ("unknown_key", "disabled_key"):
            said += ": make a key with `carhome keys new` and enroll it with `carhome keys enroll DEVICE`"
    if said is None:
        return error
    return ApiError(error.status, error.code, said, {**error.fields, "hub_detail": error.detail})


def _reason(exc: httpx.TransportError) -> str:
    """Why a request did not get an answer, in words (httpx's own text can be empty)."""
    said = str(exc).strip()
    if isinstance(exc, httpx.ConnectError):
        return f"{said or 'connection refused'} (is a hub running there? start one with `carhome demo`)"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({said or type(exc).__name__})"
    return said or type(exc).__name__
