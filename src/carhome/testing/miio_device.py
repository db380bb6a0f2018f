"""A simulated miIO/MIoT device on UDP, speaking the real protocol on loopback.

It is written from the protocol's description, not from a client library, so tests of
carhome's connector (built on python-miio's codec) check one implementation against
another. The wire, as devices speak it:

- every packet starts with a 32-byte header: magic ``0x2131``, the packet length (2 bytes),
  4 bytes ``0`` (``0xffffffff`` in a hello), the device id (4), a stamp in seconds (4) and
  16 bytes of checksum;
- a hello is a bare header of ``0xff`` bytes; the device answers with its id and stamp, and
  in the checksum field its token (old firmware) or ``0xff`` bytes (modern firmware);
- any other packet carries a JSON-RPC object, AES-128-CBC encrypted with PKCS#7 padding,
  key ``md5(token)`` and IV ``md5(key + token)``; its checksum is the MD5 of the header's
  first 16 bytes, the token and the encrypted payload. A packet whose checksum does not
  match the token is dropped unanswered, as devices do;
- the methods: ``miIO.info``, ``get_properties`` and ``set_properties`` (lists of
  ``{did, siid, piid[, value]}`` answered with a ``code`` each: 0 done, -4001 not readable,
  -4002 not writable, -4003 no such property, -4005 bad value), ``action``
  (``{did, siid, aiid, in}`` answered with ``code`` and ``out``); an unknown method gets
  an error object. A repeated request id is answered from a cache, never executed twice.

Tests make one with the properties of the model they need (``properties`` keyed by
``(siid, piid)``), stop it to make it unreachable, or make it ``silent``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carhome.clock import Clock
from carhome.testing.restartable import Restartable

MAGIC: Final = 0x2131
_HEADER: Final = struct.Struct(">HHI4sI16s")
NOT_READABLE: Final = -4001
NOT_WRITABLE: Final = -4002
NOT_FOUND: Final = -4003
INTERNAL: Final = -4004
BAD_VALUE: Final = -4005

Validator = Callable[[Any], bool]
ActionHandler = Callable[["SimulatedMiioDevice", list[Any]], int]


@dataclass(slots=True)
class SimProperty:
    """One MIoT property of the simulated device."""

    value: Any
    writable: bool = False
    readable: bool = True
    valid: Validator | None = None


class _Refused(Exception):
    """A packet the device drops: bad header, length, checksum or payload."""


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()  # noqa: S324 - the protocol's checksum and key derivation


class _Cipher:
    """The token's AES-128-CBC cipher: key md5(token), IV md5(key + token)."""

    def __init__(self, token: bytes) -> None:
        key = _md5(token)
        self._algorithm = algorithms.AES(key)
        self._iv = _md5(key + token)

    def encrypt(self, plain: bytes) -> bytes:
        padder = padding.PKCS7(128).padder()
        enc = Cipher(self._algorithm, modes.CBC(self._iv)).encryptor()
        return enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()

    def decrypt(self, data: bytes) -> bytes:
        dec = Cipher(self._algorithm, modes.CBC(self._iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, device: SimulatedMiioDevice) -> None:
        self._device = device
        self.transport: asyncio.DatagramTransport | None = None
        self.closed = asyncio.Event()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self._device.handle(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class SimulatedMiioDevice(Restartable):
    """A miIO device on ``host:port`` (loopback); an async context manager that binds it."""

    def __init__(
        self,
        *,
        token: str,
        model: str,
        device_id: int,
        clock: Clock,
        properties: Mapping[tuple[int, int], SimProperty] | None = None,
        actions: Mapping[tuple[int, int], ActionHandler] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        reveal_token: bool = False,
    ) -> None:
        self._token = bytes.fromhex(token)
        self._cipher = _Cipher(self._token)
        self.model = model
        self.device_id = device_id
        self._clock = clock
        self._boot = clock.time() - 1000.0  # up for a while: stamps are seconds since boot
        self.properties: dict[tuple[int, int], SimProperty] = dict(properties or {})
        self.actions: dict[tuple[int, int], ActionHandler] = dict(actions or {})
        self.host = host
        self.port = port
        self.reveal_token = reveal_token
        self.silent = False
        """When true the device answers nothing (a network that drops its packets)."""
        self.fail_writes: dict[tuple[int, int], int] = {}
        """``(siid, piid)`` → MIoT code the device answers instead of writing."""
        self.hellos = 0
        self.requests: list[dict[str, Any]] = []
        """Every request it decrypted, in order (repeats included)."""
        self.executed: list[dict[str, Any]] = []
        """Every request it executed (a repeated id is answered from the cache, not here)."""
        self.refused = 0
        """Packets dropped for a bad header, length, checksum or payload."""
        self.refused_seen = asyncio.Event()
        self.request_seen = asyncio.Event()
        self._replies: OrderedDict[int, bytes] = OrderedDict()
        self._socket: _Socket | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the UDP socket (again after ``stop``, on the same port)."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Socket(self), local_addr=(self.host, self.port)
        )
        protocol.transport = transport
        self._socket = protocol
        self.port = transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Close the socket and wait until it is closed: the device is off the network."""
        sock, self._socket = self._socket, None
        if sock is not None and sock.transport is not None:
            sock.transport.close()
            await sock.closed.wait()

    @property
    def stamp(self) -> int:
        return int(self._clock.time() - self._boot)

    def value(self, siid: int, piid: int) -> Any:
        return self.properties[(siid, piid)].value

    # -- the wire -------------------------------------------------------------------------

    def handle(self, packet: bytes) -> bytes | None:
        """The reply to one datagram, or ``None`` when the device stays silent."""
        if self.silent:
            return None
        try:
            request = self._unwrap(packet)
        except _Refused:
            self.refused += 1
            self.refused_seen.set()
            return None
        if request is None:
            self.hellos += 1
            revealed = self._token if self.reveal_token else b"\xff" * 16
            return _HEADER.pack(MAGIC, 32, 0, self._did, self.stamp, revealed)
        self.requests.append(request)
        self.request_seen.set()
        cached = self._replies.get(request["id"])
        if cached is not None:
            return self._packet(cached)
        self.executed.append(request)
        payload = json.dumps(self._answer(request), separators=(",", ":")).encode() + b"\x00"
        self._replies[request["id"]] = payload
        if len(self._replies) > 64:
            self._replies.popitem(last=False)
        return self._packet(payload)

    def _unwrap(self, packet: bytes) -> dict[str, Any] | None:
        """The request in a packet, ``None`` for a hello; ``_Refused`` if it is not genuine."""
        if len(packet) < _HEADER.size:
            raise _Refused
        magic, length, unknown, _did, _stamp, checksum = _HEADER.unpack_from(packet)
        if magic != MAGIC or length != len(packet):
            raise _Refused
        if length == _HEADER.size:
            if unknown != 0xFFFFFFFF:
                raise _Refused
            return None
        body = packet[_HEADER.size :]
        if _md5(packet[:16] + self._token + body) != checksum:
            raise _Refused  # a wrong token: devices answer nothing
        try:
            request = json.loads(self._cipher.decrypt(body).rstrip(b"\x00"))
        except ValueError:
            raise _Refused from None
        if not isinstance(request, dict) or not isinstance(request.get("id"), int):
            raise _Refused
        return request

    @property
    def _did(self) -> bytes:
        return self.device_id.to_bytes(4, "big")

    def _packet(self, payload: bytes) -> bytes:
        body = self._cipher.encrypt(payload)
        head = struct.pack(">HHI4sI", MAGIC, _HEADER.size + len(body), 0, self._did, self.stamp)
        return head + _md5(head + self._token + body) + body

    # -- the methods ----------------------------------------------------------------------

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params, rid = request.get("method"), request.get("params"), request["id"]
        if method == "miIO.info":
            return {"id": rid, "result": self._info()}
        if method == "get_properties" and isinstance(params, list):
            return {"id": rid, "result": [self._get(p) for p in params]}
        if method == "set_properties" and isinstance(params, list):
            return {"id": rid, "result": [self._set(p) for p in params]}
        if method == "action" and isinstance(params, dict):
            return {"id": rid, "result": self._action(params)}
        return {"id": rid, "error": {"code": -32601, "message": f"method {method!r} not found"}}

    def _info(self) -> dict[str, Any]:
        mac = ":".join(f"{b:02X}" for b in (0x64, 0x90, 0xC1, *self._did[1:]))
        return {
            "model": self.model,
            "fw_ver": "2.1.8",
            "hw_ver": "esp32",
            "mac": mac,
            "life": self.stamp,
            "ap": {"ssid": "carhome-test", "rssi": -48},
            "netif": {"localIp": self.host, "mask": "255.0.0.0", "gw": self.host},
        }

    def _get(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"code": NOT_FOUND}
        echo = {k: item.get(k) for k in ("did", "siid", "piid")}
        prop = self.properties.get((item.get("siid"), item.get("piid")))  # type: ignore[arg-type]
        if prop is None:
            return {**echo, "code": NOT_FOUND}
        if not prop.readable:
            return {**echo, "code": NOT_READABLE}
        return {**echo, "code": 0, "value": prop.value}

    def _set(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"code": NOT_FOUND}
        key = (item.get("siid"), item.get("piid"))
        echo = {k: item.get(k) for k in ("did", "siid", "piid")}
        prop = self.properties.get(key)  # type: ignore[arg-type]
        if prop is None:
            return {**echo, "code": NOT_FOUND}
        if not prop.writable:
            return {**echo, "code": NOT_WRITABLE}
        forced = self.fail_writes.get(key)  # type: ignore[arg-type]
        if forced is not None:
            return {**echo, "code": forced}
        value = item.get("value")
        if type(value) is not type(prop.value) or (prop.valid is not None and not prop.valid(value)):
            return {**echo, "code": BAD_VALUE}
        prop.value = value
        return {**echo, "code": 0}

    def _action(self, params: dict[str, Any]) -> dict[str, Any]:
        handler = self.actions.get((params.get("siid"), params.get("aiid")))  # type: ignore[arg-type]
        if handler is None:
            return {"code": NOT_FOUND}
        args = params.get("in")
        code = handler(self, list(args) if isinstance(args, list) else [])
        return {"code": code, "out": []}


def in_range(lo: float, hi: float) -> Validator:
    """A validator for a number from ``lo`` to ``hi``."""
    return lambda v: lo <= v <= hi


def one_of(*values: Any) -> Validator:
    """A validator for a value among ``values``."""
    return lambda v: v in values


def air_purifier_3h(**kw: Any) -> SimulatedMiioDevice:
    """A ``zhimi.airpurifier.mb3`` (Air Purifier 3H), off, in auto mode."""
    props = {
        (2, 2): SimProperty(False, writable=True),
        (2, 4): SimProperty(1, writable=True, valid=in_range(1, 3)),
        (2, 5): SimProperty(0, writable=True, valid=one_of(0, 1, 2, 3)),
        (3, 6): SimProperty(35),
        (3, 7): SimProperty(41),
        (3, 8): SimProperty(22.5),
        (4, 3): SimProperty(87),
    }
    return SimulatedMiioDevice(model="zhimi.airpurifier.mb3", properties=props, **kw)


def air_purifier_3c(**kw: Any) -> SimulatedMiioDevice:
    """A ``zhimi.airpurifier.mb4`` (Air Purifier 3C), on, in favorite mode."""
    props = {
        (2, 1): SimProperty(True, writable=True),
        (2, 4): SimProperty(2, writable=True, valid=one_of(0, 1, 2, 3)),
        (3, 4): SimProperty(8),
        (4, 1): SimProperty(100),
    }
    return SimulatedMiioDevice(model="zhimi.airpurifier.mb4", properties=props, **kw)


def light_lamp22(**kw: Any) -> SimulatedMiioDevice:
    """A ``yeelink.light.lamp22`` light bar, on at 60 % and 4000 K."""
    props = {
        (2, 1): SimProperty(True, writable=True),
        (2, 2): SimProperty(60, writable=True, valid=in_range(1, 100)),
        (2, 3): SimProperty(4000, writable=True, valid=in_range(2700, 6500)),
    }
    return SimulatedMiioDevice(model="yeelink.light.lamp22", properties=props, **kw)


def vacuum_dreame_1c(**kw: Any) -> SimulatedMiioDevice:
    """A ``dreame.vacuum.mc1808`` charging on its dock; it refuses to start below 10 %."""

    def status(code: int) -> ActionHandler:
        def run(device: SimulatedMiioDevice, args: list[Any]) -> int:
            if code == 1 and device.value(2, 1) < 10:
                return INTERNAL
            device.properties[(3, 2)].value = code
            return 0

        return run

    props = {(2, 1): SimProperty(80), (3, 2): SimProperty(6), (18, 4): SimProperty(0)}
    actions = {(3, 1): status(1), (3, 2): status(3), (2, 1): status(5)}
    return SimulatedMiioDevice(model="dreame.vacuum.mc1808", properties=props, actions=actions, **kw)
