"""``/api/ws``: live state changes and command results over a WebSocket.

The protocol is JSON text frames of at most ``MAX_FRAME`` bytes. A browser cannot set an
Authorization header on a WebSocket, so the first frame a client sends is ``{"type":
"auth", "token": "<access token>"}`` (an app without access control accepts any first
frame); the answer is ``{"type": "ready", "member": ..., "home": ..., "expires": ...}``.
Then ``{"type": "subscribe", "device": "car"}`` (or without ``device``: the whole home)
starts ``{"type": "state", "home", "device", "property", "value", "ts"}`` frames, and every
command of the home that is sent to its device or ends arrives as ``{"type": "command",
"command": {...}}`` (its ``status`` says which; the final one is durable). A guest gets only
what their live grants show (``carhome.api.auth.View``), checked at each frame. Each socket
holds its own subscriptions on the hub's bus — the devices it asked for, its home's command
results — and closes them when it ends.

The access token ends the socket: when it expires (``expires``, the injected clock's
seconds) the socket is closed with code 4401 and the reason ``access token expired``, unless
the client renewed it first by sending another ``{"type": "auth", "token": ...}`` with a
fresh access token of the same member (from ``POST /api/auth/refresh``); the answer is
``{"type": "renewed", "expires": ...}``. On 4401 a client refreshes its tokens and
connects again.

Revocation: when the member or the session behind the socket is revoked, the socket is
closed at once with code 4401 — ``Tokens.on_revoke`` calls straight into the open sockets,
so no client holds a live view a moment after it lost the right to it. A slow client does
not slow ingest: changes queue per socket and the oldest are dropped past ``MAX_QUEUE``
(and counted in a ``{"type": "dropped"}`` frame).

Bad input — a binary frame, text that is not JSON, JSON nested deeper than ``MAX_DEPTH``,
a message carhome does not know, a frame over ``MAX_FRAME`` — is counted in the hub's
rejections (``carhome rejections``; codes ``ws_*``) and logged once per cause. Before the
auth frame it closes the socket (4401 — authenticate first; 1003 for binary; 1009 too big);
after it, it gets ``{"type": "error", "code": ..., "detail": ...}`` and the connection
carries on, except a frame too big, which closes it with 1009.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Literal

import msgspec
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from carhome.errors import CarhomeError, InvalidChange
from carhome.http.principals import Authenticator, Principal, TokenAuthenticator, View
from carhome.http.problems import Problem
from carhome.hub import Change, Command, Hub, Result, Subscription
from carhome.hub.rejections import HUB_WIDE
from carhome.parts.access import AccessControl, Revocation

log: Final = logging.getLogger(__name__)

MAX_QUEUE: Final = 5_000
AUTH_TIMEOUT: Final = 10.0
MAX_FRAME: Final = 8 * 1024
"""The largest client frame, in bytes; the server closes a socket sending more (1009)."""
MAX_DEPTH: Final = 4
"""How deeply a client frame's JSON may nest (carhome's own frames nest once)."""
EXPIRY_CHECK: Final = 30.0
"""Clock seconds between looks at a socket's token expiry, so a stepped wall clock counts."""
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_POLICY: Final = 1008
CLOSE_UNSUPPORTED: Final = 1003
CLOSE_TOO_BIG: Final = 1009
EXPIRED: Final = "access token expired; renew it on the socket or log in again"
WEBSOCKET: Final = "websocket"
"""The device name the hub's rejections give a WebSocket's bad input."""


class ClientFrame(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    pass


class AuthFrame(ClientFrame, frozen=True, tag="auth"):
    token: str = ""


class SubscribeFrame(ClientFrame, frozen=True, tag="subscribe"):
    device: str | None = None


class UnsubscribeFrame(ClientFrame, frozen=True, tag="unsubscribe"):
    device: str | None = None


Frame = AuthFrame | SubscribeFrame | UnsubscribeFrame


class StateFrame(msgspec.Struct, frozen=True, tag_field="type", tag="state"):
    home: str
    device: str
    property: str
    value: Any
    ts: float


class CommandFrame(msgspec.Struct, frozen=True, tag_field="type", tag="command"):
    command: Command


class BadFrame(CarhomeError):
    """A client frame carhome cannot take: ``code`` counts it; ``close`` is the code a socket
    not yet authenticated is closed with; ``fatal`` closes an authenticated one too."""

    def __init__(
        self, code: str, detail: str, close: int = CLOSE_UNAUTHORIZED, *, fatal: bool = False
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.close = close
        self.fatal = fatal


class _Socket:
    """One open connection: its member, what they see, subscriptions and outgoing queue."""

    def __init__(self, ws: WebSocket, principal: Principal, view: View) -> None:
        self.ws = ws
        self.principal = principal
        self.view = view
        self.subs: dict[str | None, Subscription] = {}
        self.results: Subscription | None = None
        self.queue: deque[bytes] = deque(maxlen=MAX_QUEUE)
        self.dropped = 0
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""

    def push(self, frame: object) -> None:
        if len(self.queue) == MAX_QUEUE:
            self.dropped += 1
        self.queue.append(msgspec.json.encode(frame))
        self.ready.set()

    def change(self, change: Change) -> None:
        if self.view.everything or self.view.sees_property(change.device, change.prop):
            self.push(_state(change))

    def result(self, result: Result) -> None:
        if self.shows(result.command):
            self.push(CommandFrame(result.command))

    def unsubscribe(self) -> None:
        """Close every subscription of the socket on the hub's bus."""
        for sub in self.subs.values():
            sub.close()
        self.subs.clear()
        if self.results is not None:
            self.results.close()
            self.results = None

    def shows(self, command: Command) -> bool:
        p = self.principal
        if p.home not in (None, command.home):
            return False
        return self.view.sees(command.device) or command.member == p.member

    def close(self, code: int, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_code, self.close_reason = code, reason
        self.closed.set()
        self.ready.set()


class LiveHub:
    """The WebSocket endpoint over a hub; knows every open socket to close revoked ones."""

    def __init__(self, hub: Hub, auth: Authenticator, access: AccessControl | None = None) -> None:
        self._hub = hub
        self._auth = auth
        self._sockets: set[_Socket] = set()
        self._unhook: list[Callable[[], None]] = []
        if access is not None:
            self._unhook.append(access.on_revoke(self._on_revoke))

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def close(self) -> None:
        for unhook in self._unhook:
            unhook()
        self._unhook.clear()
        for sock in tuple(self._sockets):
            sock.unsubscribe()
            sock.close(1001, "hub stopping")

    def _on_revoke(self, event: Revocation) -> None:
        for sock in tuple(self._sockets):
            p = sock.principal
            if p.member == event.member and (event.session is None or event.session == p.session):
                sock.close(CLOSE_UNAUTHORIZED, f"revoked: {event.reason}")

    def _reject(self, home: str | None, bad: BadFrame) -> None:
        self._hub.rejections.record(
            InvalidChange(
                home=home or HUB_WIDE, device=WEBSOCKET, prop=None, code=bad.code, reason=bad.detail
            )
        )

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        principal = await self._authenticate(ws)
        if principal is None:
            return
        sock = _Socket(ws, principal, self._auth.view(principal))
        # the member's home's command results (every home's for a member of no one home)
        sock.results = self._hub.bus.subscribe(sock.result, kind=Result, home=principal.home)
        self._sockets.add(sock)
        homes = [h.id for h in self._hub.homes()]
        home = principal.home or (homes[0] if len(homes) == 1 else None)
        ready = {"type": "ready", "member": principal.member, "home": home, "expires": principal.expires}
        await ws.send_text(msgspec.json.encode(ready).decode())
        sender = asyncio.create_task(self._send(sock), name="ws-send")
        expiry = asyncio.create_task(self._expire(sock), name="ws-expiry")
        try:
            await self._receive(sock, home)
        finally:
            expiry.cancel()
            sock.unsubscribe()
            self._sockets.discard(sock)
            sock.close(sock.close_code, sock.close_reason)
            with contextlib.suppress(Exception):
                await sender
            with contextlib.suppress(asyncio.CancelledError):
                await expiry

    async def _authenticate(self, ws: WebSocket) -> Principal | None:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                first = _decode(await _incoming(ws))
        except TimeoutError:
            await _close(ws, CLOSE_UNAUTHORIZED, 'the first frame must be {"type": "auth", "token": ...}')
            return None
        except WebSocketDisconnect as gone:
            if gone.code == CLOSE_TOO_BIG:
                self._reject(None, _too_big())
            return None
        except BadFrame as bad:
            self._reject(None, bad)
            await _close(
                ws, bad.close, f'{bad.detail}; the first frame must be {{"type": "auth", "token": ...}}'
            )
            return None
        try:
            if isinstance(self._auth, TokenAuthenticator):
                if not isinstance(first, AuthFrame):
                    raise Problem(
                        401, "unauthorized", "Not logged in", "the first frame must be an auth frame"
                    )
                return self._auth.check(first.token)
            return self._auth.principal(ws)
        except Problem as exc:
            await _close(ws, CLOSE_UNAUTHORIZED, exc.detail)
            return None

    async def _expire(self, sock: _Socket) -> None:
        """Close ``sock`` when its access token expires (a renewal moves the time on)."""
        clock = self._hub.clock
        while not sock.closed.is_set():
            expires = sock.principal.expires
            if expires is None:
                return
            left = expires - clock.time()
            if left <= 0:
                sock.close(CLOSE_UNAUTHORIZED, EXPIRED)
                return
            await clock.sleep(min(left, EXPIRY_CHECK))

    async def _receive(self, sock: _Socket, home: str | None) -> None:
        ws = sock.ws
        receiving = asyncio.ensure_future(_incoming(ws))
        closing = asyncio.ensure_future(sock.closed.wait())
        try:
            while True:
                await asyncio.wait((receiving, closing), return_when=asyncio.FIRST_COMPLETED)
                if closing.done():
                    return
                try:
                    frame = _decode(receiving.result())
                except BadFrame as bad:
                    self._reject(sock.principal.home or home, bad)
                    if bad.fatal:
                        sock.close(bad.close, bad.detail)
                        return
                    sock.push(_error(bad.detail, code=bad.code))
                except WebSocketDisconnect as gone:
                    if gone.code == CLOSE_TOO_BIG:
                        self._reject(sock.principal.home or home, _too_big())
                    return
                except RuntimeError:
                    return
                else:
                    self._handle(sock, home, frame)
                receiving = asyncio.ensure_future(_incoming(ws))
        finally:
            receiving.cancel()
            closing.cancel()

    def _handle(self, sock: _Socket, home: str | None, frame: Frame) -> None:
        if isinstance(frame, AuthFrame):
            self._renew(sock, frame.token)
        elif home is None:
            sock.push(_error("this member sees several homes; the live view follows one home"))
        elif frame.device is not None and not (
            frame.device in {d.id for d in self._hub.devices(home)} and sock.view.sees(frame.device)
        ):
            sock.push(_error(f"no device {frame.device!r} in home {home!r}", device=frame.device))
        elif isinstance(frame, SubscribeFrame):
            if frame.device not in sock.subs:
                sock.subs[frame.device] = self._hub.bus.subscribe(sock.change, home=home, device=frame.device)
            sock.push(_ok("subscribed", frame.device))
        else:
            sub = sock.subs.pop(frame.device, None)
            if sub is not None:
                sub.close()
            sock.push(_ok("unsubscribed", frame.device))

    def _renew(self, sock: _Socket, token: str) -> None:
        """A fresh access token of the same member moves the socket's end to its expiry."""
        if not isinstance(self._auth, TokenAuthenticator):
            sock.push(_error("this hub has no access control: there is nothing to renew", code="not_needed"))
            return
        try:
            renewed = self._auth.check(token)
        except Problem as exc:
            sock.push(_error(f"not renewed: {exc.detail}", code="invalid_token"))
            return
        if renewed.member != sock.principal.member:
            sock.push(_error("not renewed: the token is another member's", code="invalid_token"))
            return
        sock.principal = renewed
        sock.push({"type": "renewed", "expires": renewed.expires})

    async def _send(self, sock: _Socket) -> None:
        ws = sock.ws
        try:
            while not sock.closed.is_set():
                await sock.ready.wait()
                sock.ready.clear()
                if sock.dropped:
                    dropped, sock.dropped = sock.dropped, 0
                    await ws.send_text(f'{{"type":"dropped","count":{dropped}}}')
                while sock.queue and not sock.closed.is_set():
                    await ws.send_text(sock.queue.popleft().decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            sock.close(1006, "gone")
            return
        await _close(ws, sock.close_code, sock.close_reason)


async def _incoming(ws: WebSocket) -> str | bytes:
    """The next frame's text (or bytes); ``WebSocketDisconnect`` when the client is gone."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1005), message.get("reason"))
    text = message.get("text")
    if text is not None:
        return str(text)
    return bytes(message.get("bytes") or b"")


def _too_big() -> BadFrame:
    return BadFrame("ws_too_large", f"a frame over {MAX_FRAME} bytes", CLOSE_TOO_BIG, fatal=True)


def _decode(data: str | bytes) -> Frame:
    """A client frame, or the ``BadFrame`` it is."""
    if isinstance(data, bytes):
        raise BadFrame(
            "ws_binary",
            "binary frames are not part of the protocol; send JSON text frames",
            CLOSE_UNSUPPORTED,
        )
    if len(data) > MAX_FRAME or len(data.encode()) > MAX_FRAME:
        raise _too_big()
    if _depth(data) > MAX_DEPTH:
        raise BadFrame("ws_too_deep", f"the frame nests deeper than {MAX_DEPTH} levels")
    try:
        return msgspec.json.decode(data, type=Frame)
    except msgspec.ValidationError as exc:
        raise BadFrame("ws_unknown_message", f"not a frame carhome knows: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadFrame("ws_not_json", f"not JSON: {exc}") from None


def _depth(text: str) -> int:
    """How deeply ``text``'s JSON arrays and objects nest (brackets in strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _state(change: Change) -> StateFrame:
    return StateFrame(change.home, change.device, change.prop, change.value, change.ts)


def _error(detail: str, **fields: Any) -> dict[str, Any]:
    return {"type": "error", "detail": detail, **fields}


def _ok(kind: Literal["subscribed", "unsubscribed"], device: str | None) -> dict[str, Any]:
    return {"type": kind, "device": device}


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason.encode()[:120].decode(errors="ignore"))


def live_routes(live: LiveHub) -> list[WebSocketRoute]:
    return [WebSocketRoute("/api/ws", live.endpoint)]
