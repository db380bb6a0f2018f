"""``/api/ws``: live state changes and command results over a WebSocket.

The protocol is JSON text frames. A browser cannot set an Authorization header on a
WebSocket, so the first frame a client sends is ``{"type": "auth", "token": "<access
token>"}`` (an app without access control accepts any first frame); the answer is
``{"type": "ready", "member": ..., "home": ...}``. Then ``{"type": "subscribe", "device":
"car"}`` (or without ``device``: the whole home) starts ``{"type": "state", "home",
"device", "property", "value", "ts"}`` frames, and every command of the home that ends
arrives as ``{"type": "command", "command": {...}}``. A bad frame gets ``{"type": "error",
"detail": ...}`` and the connection carries on.

Revocation: when the member or the session behind the socket is revoked, the socket is
closed at once with code 4401 — ``Tokens.on_revoke`` calls straight into the open sockets,
so no client holds a live view a moment after it lost the right to it. A slow client does
not slow ingest: changes queue per socket and the oldest are dropped past ``MAX_QUEUE``
(and counted in a ``{"type": "dropped"}`` frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, Final, Literal

import msgspec
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from carhome.access.tokens import Revoked, Tokens
from carhome.api.auth import Authenticator, Bearer, Principal
from carhome.api.problems import Problem
from carhome.hub import Command, Hub
from carhome.hub.bus import Subscription
from carhome.hub.states import Change

log: Final = logging.getLogger(__name__)

MAX_QUEUE: Final = 5_000
AUTH_TIMEOUT: Final = 10.0
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_POLICY: Final = 1008


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


class _Socket:
    """One open connection: its member, subscriptions and outgoing queue."""

    def __init__(self, ws: WebSocket, principal: Principal) -> None:
        self.ws = ws
        self.principal = principal
        self.subs: dict[str | None, Subscription] = {}
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

    def close(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        self.closed.set()
        self.ready.set()


class LiveHub:
    """The WebSocket endpoint over a hub; knows every open socket to close revoked ones."""

    def __init__(self, hub: Hub, auth: Authenticator, tokens: Tokens | None = None) -> None:
        self._hub = hub
        self._auth = auth
        self._sockets: set[_Socket] = set()
        self._unhook = [hub.commands.on_result(self._on_result)]
        if tokens is not None:
            self._unhook.append(tokens.on_revoke(self._on_revoke))

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def close(self) -> None:
        for unhook in self._unhook:
            unhook()
        for sock in tuple(self._sockets):
            sock.close(1001, "hub stopping")

    def _on_revoke(self, event: Revoked) -> None:
        for sock in tuple(self._sockets):
            p = sock.principal
            if p.member == event.member and (event.session is None or event.session == p.session):
                sock.close(CLOSE_UNAUTHORIZED, f"revoked: {event.reason}")

    def _on_result(self, command: Command) -> None:
        for sock in self._sockets:
            if sock.principal.home in (None, command.home):
                sock.push(CommandFrame(command))

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        principal = await self._authenticate(ws)
        if principal is None:
            return
        sock = _Socket(ws, principal)
        self._sockets.add(sock)
        homes = [h.id for h in self._hub.homes()]
        home = principal.home or (homes[0] if len(homes) == 1 else None)
        await ws.send_text(
            msgspec.json.encode({"type": "ready", "member": principal.member, "home": home}).decode()
        )
        sender = asyncio.create_task(self._send(sock), name="ws-send")
        try:
            await self._receive(sock, home)
        finally:
            for sub in sock.subs.values():
                sub.cancel()
            self._sockets.discard(sock)
            sock.close(sock.close_code, sock.close_reason)
            with contextlib.suppress(Exception):
                await sender

    async def _authenticate(self, ws: WebSocket) -> Principal | None:
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                first = msgspec.json.decode(await ws.receive_text(), type=Frame)
        except (TimeoutError, WebSocketDisconnect, msgspec.DecodeError, msgspec.ValidationError):
            await _close(ws, CLOSE_UNAUTHORIZED, 'the first frame must be {"type": "auth", "token": ...}')
            return None
        try:
            if isinstance(self._auth, Bearer):
                if not isinstance(first, AuthFrame):
                    raise Problem(
                        401, "unauthorized", "Not logged in", "the first frame must be an auth frame"
                    )
                return self._auth.check(first.token)
            return self._auth.principal(ws)
        except Problem as exc:
            await _close(ws, CLOSE_UNAUTHORIZED, exc.detail)
            return None

    async def _receive(self, sock: _Socket, home: str | None) -> None:
        ws = sock.ws
        receiving = asyncio.ensure_future(ws.receive_text())
        closing = asyncio.ensure_future(sock.closed.wait())
        try:
            while True:
                await asyncio.wait((receiving, closing), return_when=asyncio.FIRST_COMPLETED)
                if closing.done():
                    return
                try:
                    text = receiving.result()
                except (WebSocketDisconnect, RuntimeError):
                    return
                self._handle(sock, home, text)
                receiving = asyncio.ensure_future(ws.receive_text())
        finally:
            receiving.cancel()
            closing.cancel()

    def _handle(self, sock: _Socket, home: str | None, text: str) -> None:
        try:
            frame = msgspec.json.decode(text, type=Frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            sock.push(_error(f"not a frame carhome knows: {exc}"))
            return
        if isinstance(frame, AuthFrame):
            sock.push(_error("already authenticated"))
        elif home is None:
            sock.push(_error("this member sees several homes; the live view follows one home"))
        elif frame.device is not None and frame.device not in {d.id for d in self._hub.devices(home)}:
            sock.push(_error(f"no device {frame.device!r} in home {home!r}", device=frame.device))
        elif isinstance(frame, SubscribeFrame):
            if frame.device not in sock.subs:
                sock.subs[frame.device] = self._hub.bus.subscribe(
                    lambda c: sock.push(_state(c)), home=home, device=frame.device
                )
            sock.push(_ok("subscribed", frame.device))
        else:
            sub = sock.subs.pop(frame.device, None)
            if sub is not None:
                sub.cancel()
            sock.push(_ok("unsubscribed", frame.device))

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


def _state(change: Change) -> StateFrame:
    return StateFrame(change.home, change.device, change.prop, change.value, change.ts)


def _error(detail: str, **fields: Any) -> dict[str, Any]:
    return {"type": "error", "detail": detail, **fields}


def _ok(kind: Literal["subscribed", "unsubscribed"], device: str | None) -> dict[str, Any]:
    return {"type": kind, "device": device}


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code, reason[:120])


def live_routes(live: LiveHub) -> list[WebSocketRoute]:
    return [WebSocketRoute("/api/ws", live.endpoint)]
