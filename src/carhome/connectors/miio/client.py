"""One miIO device on the LAN, spoken to over asyncio UDP with python-miio's codec.

python-miio's ``Device`` is synchronous (a blocking socket per call, port 54321 fixed,
real-time timeouts and retries); the hub runs on asyncio with an injected clock. So this
client keeps python-miio's wire codec (``miio.protocol.Message``: the 32-byte header, the
MD5 checksum over header, token and payload, AES-128-CBC with key and IV derived from the
token) and does the exchange itself on an asyncio datagram endpoint: a hello handshake for
the device id and stamp, then JSON-RPC requests matched to replies by id. Timeouts run on
the injected clock, so a test advances time instead of waiting.

What a failure means, as the errors say:

    MiioError (ConnectorError)
    ├── MiioUnreachable      no answer to the hello, or the host refused the UDP port
    ├── MiioTokenRejected    the hello is answered but not the encrypted requests, or a
    │                        reply's checksum does not match: the token is wrong
    ├── MiioDeviceError      the device answered with an error (code and message)
    └── MiioExpired          the caller's deadline passed before the request could go

A request that times out is sent again with the same id (a device answers a repeated id
from its cache instead of executing it twice), never past the caller's deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import warnings
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self

import msgspec

from carhome.clock import Clock
from carhome.connectors.miio.tokens import PORT, check_token
from carhome.errors import ConnectorError

with warnings.catch_warnings():
    # python-miio's CLI layer subclasses click.MultiCommand, deprecated in click 8.2;
    # carhome uses only its codec, so the warning is not ours to act on.
    warnings.simplefilter("ignore", DeprecationWarning)
    from construct.core import ChecksumError  # type: ignore[import-untyped]
    from miio.exceptions import PayloadDecodeException
    from miio.protocol import Message

log: Final = logging.getLogger(__name__)

HELLO: Final = bytes.fromhex("21310020" + "ff" * 28)
HEADER_LEN: Final = 32
MAX_PROPERTIES: Final = 15  # devices refuse longer get_properties lists
_EPOCH: Final = dt.datetime(1970, 1, 1)  # python-miio's stamps are naive UTC datetimes


class MiioError(ConnectorError):
    """A miIO device could not be reached, refused the token, or answered with an error."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"miIO device at {host}: {message}")
        self.host = host
        self.reason = message


class MiioUnreachable(MiioError):
    """Nothing answered the hello handshake, or the host refused the UDP port."""


class MiioTokenRejected(MiioError):
    """The device answers the hello but not requests encrypted with this token."""


class MiioExpired(MiioError):
    """The caller's deadline passed before the request could be sent."""


class MiioDeviceError(MiioError):
    """The device answered with an error object (``code``, ``message``)."""

    def __init__(self, host: str, code: int | None, message: str) -> None:
        super().__init__(host, f"error {code}: {message}")
        self.code = code
        self.message = message


class Hello(msgspec.Struct, frozen=True):
    """A hello reply: who answered, its stamp, and its token if its firmware reveals it."""

    host: str
    port: int
    device_id: int
    stamp: int
    token: str | None = None

    def __repr__(self) -> str:  # a revealed token stays out of logs
        return f"Hello(host={self.host!r}, port={self.port}, device_id={self.device_id}, stamp={self.stamp})"


def parse_hello(data: bytes, host: str, port: int) -> Hello:
    """Decode a hello reply (``ValueError`` if it is not one)."""
    if len(data) != HEADER_LEN or data[:2] != b"\x21\x31":
        raise ValueError(f"not a miIO hello reply ({len(data)} bytes)")
    header = Message.parse(data).header.value
    revealed = data[16:32]
    token = None if revealed in (b"\xff" * 16, b"\x00" * 16) else revealed.hex()
    return Hello(host, port, int.from_bytes(header.device_id, "big"), _stamp_of(header.ts), token)


def _stamp_of(ts: dt.datetime) -> int:
    return int((ts - _EPOCH).total_seconds())


class _Endpoint(asyncio.DatagramProtocol):
    """Hands each datagram and socket error to the client."""

    def __init__(self, client: MiioClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._client._received(data)

    def error_received(self, exc: Exception) -> None:
        self._client._failed(exc)


class MiioClient:
    """Requests to one miIO device; an async context manager that owns its UDP socket."""

    def __init__(
        self,
        host: str,
        token: str,
        *,
        clock: Clock,
        port: int = PORT,
        timeout: float = 5.0,
        attempts: int = 2,
    ) -> None:
        self.host = host
        self.port = port
        self._token = check_token(token)
        self._clock = clock
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._transport: asyncio.DatagramTransport | None = None
        self._lock = asyncio.Lock()
        self._inbox: asyncio.Queue[bytes | Exception] = asyncio.Queue()
        self._id = random.randrange(1, 9000)  # noqa: S311 - a request id, not a secret
        self._device_id: bytes | None = None
        self._stamp = 0
        self._stamp_at = 0.0
        self.hellos = 0
        self.requests = 0

    def __repr__(self) -> str:
        return f"MiioClient({self.host}:{self.port})"

    @property
    def device_id(self) -> int | None:
        """The id the device gave in its last hello (``None`` before the first)."""
        return None if self._device_id is None else int.from_bytes(self._device_id, "big")

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Endpoint(self), remote_addr=(self.host, self.port)
            )
        except OSError as exc:
            raise MiioUnreachable(self.host, f"cannot open UDP to port {self.port}: {exc}") from exc
        self._transport = transport
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # -- the socket -----------------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        self._inbox.put_nowait(data)

    def _failed(self, exc: Exception) -> None:
        self._inbox.put_nowait(exc)

    def _send(self, packet: bytes) -> None:
        if self._transport is None:
            raise MiioUnreachable(self.host, "the client is not open (use it as `async with`)")
        while not self._inbox.empty():  # late answers to requests given up on
            self._inbox.get_nowait()
        self._transport.sendto(packet)

    async def _receive(self, until: float) -> bytes | None:
        """The next datagram, or ``None`` once the clock reaches ``until``."""
        getter = asyncio.ensure_future(self._inbox.get())
        sleeper = asyncio.ensure_future(self._clock.sleep(until - self._clock.time()))
        try:
            await asyncio.wait({getter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        if not getter.done():
            getter.cancel()
            return None
        item = getter.result()
        if isinstance(item, OSError):  # ICMP port unreachable on a connected UDP socket
            raise MiioUnreachable(self.host, f"UDP port {self.port} refused: {item}") from item
        if isinstance(item, Exception):
            raise MiioError(self.host, f"socket error: {item}") from item
        return item

    # -- the protocol ---------------------------------------------------------------------

    async def hello(self) -> Hello:
        """The hello handshake: learn the device id and stamp that requests must carry."""
        async with self._lock:
            return await self._hello()

    async def _hello(self) -> Hello:
        for _ in range(self.attempts):
            self._send(HELLO)
            until = self._clock.time() + self.timeout
            while (data := await self._receive(until)) is not None:
                try:
                    hello = parse_hello(data, self.host, self.port)
                except ValueError:
                    continue  # a late reply to an earlier request: keep waiting
                self.hellos += 1
                self._device_id = hello.device_id.to_bytes(4, "big")
                self._stamp = hello.stamp
                self._stamp_at = self._clock.time()
                return hello
        raise MiioUnreachable(
            self.host,
            f"no answer to the miIO hello on UDP port {self.port} within"
            f" {self.attempts} x {self.timeout:g} s: is the device on, on this network, at this address?",
        )

    def _next_id(self) -> int:
        self._id = 1 if self._id >= 9999 else self._id + 1
        return self._id

    def _build(self, request: dict[str, Any]) -> bytes:
        stamp = self._stamp + int(self._clock.time() - self._stamp_at) + 1
        header = {
            "length": 0,
            "unknown": 0,
            "device_id": self._device_id,
            "ts": _EPOCH + dt.timedelta(seconds=stamp),
        }
        packet: bytes = Message.build(
            {"data": {"value": request}, "header": {"value": header}, "checksum": 0}, token=self._token
        )
        return packet

    def _decode(self, data: bytes, request_id: int) -> dict[str, Any] | None:
        """The reply's payload, or ``None`` if the datagram answers another request."""
        if len(data) <= HEADER_LEN:
            return None  # a hello reply, late: not ours
        try:
            message = Message.parse(data, token=self._token)
        except ChecksumError as exc:
            raise MiioTokenRejected(
                self.host, "the reply's checksum does not match the configured token: the token is wrong"
            ) from exc
        except PayloadDecodeException as exc:
            raise MiioError(self.host, f"the reply is not JSON: {exc}") from exc
        except Exception as exc:  # construct raises many kinds on a malformed packet
            raise MiioError(self.host, f"malformed reply: {exc}") from exc
        payload = message.data.value
        if not isinstance(payload, dict):
            raise MiioTokenRejected(self.host, "the reply does not decrypt with the configured token")
        if payload.get("id") != request_id:
            return None
        header = message.header.value
        self._stamp = _stamp_of(header.ts)
        self._stamp_at = self._clock.time()
        return payload

    async def call(self, method: str, params: Any = None, *, deadline: float | None = None) -> Any:
        """Send one JSON-RPC request and return its ``result``.

        Nothing is sent at or after ``deadline`` (clock seconds): ``MiioExpired`` instead.
        """
        async with self._lock:
            try:
                return await self._call(method, [] if params is None else params, deadline)
            except (MiioUnreachable, MiioTokenRejected):
                self._device_id = None  # it may have rebooted with a new stamp: hello again next time
                raise

    async def _call(self, method: str, params: Any, deadline: float | None) -> Any:
        if self._device_id is None:
            await self._hello()
        request_id = self._next_id()
        request = {"id": request_id, "method": method, "params": params}
        for attempt in range(self.attempts):
            if deadline is not None and self._clock.time() >= deadline:
                raise MiioExpired(self.host, f"{method} not sent: its deadline passed")
            self._send(self._build(request))
            self.requests += 1
            until = self._clock.time() + self.timeout
            while (data := await self._receive(until)) is not None:
                payload = self._decode(data, request_id)
                if payload is not None:
                    return self._result(payload)
            log.debug("miIO %s to %s: no reply (attempt %d)", method, self.host, attempt + 1)
        # The device answered its hello (we have its id) yet none of the requests: the
        # usual cause is a wrong token, which devices meet with silence.
        raise MiioTokenRejected(
            self.host,
            f"no reply to {method!r} although the device answers the hello: the token is probably"
            " wrong (modern firmware never reveals it: read it from the Mi Home app or the Xiaomi cloud)",
        )

    def _result(self, payload: dict[str, Any]) -> Any:
        error = payload.get("error")
        if error is not None:
            if isinstance(error, dict):
                code = error.get("code")
                raise MiioDeviceError(
                    self.host, code if isinstance(code, int) else None, str(error.get("message", ""))
                )
            raise MiioDeviceError(self.host, None, str(error))
        return payload.get("result", payload)

    # -- MIoT -----------------------------------------------------------------------------

    async def get_properties(self, keys: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
        """Read MIoT properties by (siid, piid), at most 15 per request as devices want."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(keys), MAX_PROPERTIES):
            chunk = keys[start : start + MAX_PROPERTIES]
            params = [{"did": f"{s}-{p}", "siid": s, "piid": p} for s, p in chunk]
            result = await self.call("get_properties", params)
            out.extend(_answers(self.host, result, len(chunk)))
        return out

    async def set_properties(
        self, items: Sequence[tuple[int, int, Any]], *, deadline: float | None = None
    ) -> list[dict[str, Any]]:
        """Write MIoT properties; each answer carries its own ``code`` (0 = done)."""
        params = [{"did": f"{s}-{p}", "siid": s, "piid": p, "value": v} for s, p, v in items]
        return _answers(self.host, await self.call("set_properties", params, deadline=deadline), len(items))

    async def action(
        self, siid: int, aiid: int, args: Sequence[Any] = (), *, deadline: float | None = None
    ) -> dict[str, Any]:
        """Run a MIoT action; the answer carries ``code`` and the ``out`` arguments."""
        params = {"did": f"call-{siid}-{aiid}", "siid": siid, "aiid": aiid, "in": list(args)}
        result = await self.call("action", params, deadline=deadline)
        if not isinstance(result, dict):
            raise MiioError(self.host, f"an action answer is an object, got {type(result).__name__}")
        return result

    async def info(self) -> dict[str, Any]:
        """``miIO.info``: model, firmware, MAC and network details."""
        result = await self.call("miIO.info")
        if not isinstance(result, dict):
            raise MiioError(self.host, f"miIO.info answers an object, got {type(result).__name__}")
        return result


def _answers(host: str, result: Any, expected: int) -> list[dict[str, Any]]:
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise MiioError(host, f"expected a list of {expected} property answers, got {type(result).__name__}")
    return result
