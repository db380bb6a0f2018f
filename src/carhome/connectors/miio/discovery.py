"""Finding miIO devices: the hello handshake to given addresses or a broadcast address.

Every miIO device answers a hello (a 32-byte header of ``0xff``) on UDP port 54321 with
its device id and stamp. The hello says nothing of the model; ``identify`` asks
``miIO.info`` for it, which needs the token. Tokens cannot be discovered on current
firmware: devices put ``0xff`` bytes where old firmware (and a device not yet set up in
the Mi Home app) put the token; ``Hello.token`` is ``None`` then, and the token must come
from the Mi Home app or the Xiaomi cloud.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from carhome.clock import Clock
from carhome.connectors.miio.client import HELLO, Hello, MiioClient, parse_hello
from carhome.connectors.miio.tokens import PORT

BROADCAST: Final = "255.255.255.255"


class DeviceInfo(msgspec.Struct, frozen=True):
    """What ``miIO.info`` tells of a device."""

    host: str
    device_id: int | None
    model: str
    firmware: str | None = None
    mac: str | None = None


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, port: int) -> None:
        self.port = port
        self.found: dict[tuple[str, int], Hello] = {}
        self.changed = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            hello = parse_hello(data, str(addr[0]), int(addr[1]))
        except ValueError:
            return  # not a hello reply: anything may arrive on a broadcast socket
        self.found.setdefault((hello.host, hello.port), hello)
        self.changed.set()

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error from one address says nothing of the others


async def discover(
    targets: Sequence[str] = (BROADCAST,),
    *,
    clock: Clock,
    port: int = PORT,
    timeout: float = 3.0,
) -> list[Hello]:
    """Send a hello to each target (unicast or broadcast) and collect the answers.

    A target ending in ``.255`` is taken for a broadcast address. Returns as soon as
    every unicast target has answered; with a broadcast target (or a
    silent address) it listens until ``timeout`` of the clock has passed.
    """
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setblocking(False)
    transport, collector = await loop.create_datagram_endpoint(lambda: _Collector(port), sock=sock)
    unicast = {t for t in targets if not _is_broadcast(t)}
    # Only unicast targets can all be known to have answered; a broadcast waits out the time.
    early = bool(unicast) and len(unicast) == len(targets)
    deadline = clock.time() + timeout
    try:
        for target in targets:
            transport.sendto(HELLO, (target, port))
        while not (early and unicast <= {h.host for h in collector.found.values()}):
            remaining = deadline - clock.time()
            if remaining <= 0:
                break
            collector.changed.clear()
            waiter = asyncio.ensure_future(collector.changed.wait())
            sleeper = asyncio.ensure_future(clock.sleep(remaining))
            try:
                await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()
    finally:
        transport.close()
    return sorted(collector.found.values(), key=lambda h: (h.host, h.port))


def _is_broadcast(address: str) -> bool:
    return address == BROADCAST or address.endswith(".255")


async def identify(
    host: str, token: str, *, clock: Clock, port: int = PORT, timeout: float = 5.0
) -> DeviceInfo:
    """Ask a device its model (and firmware, MAC) with ``miIO.info``; needs the token."""
    async with MiioClient(host, token, clock=clock, port=port, timeout=timeout) as client:
        info = await client.info()
        device_id = client.device_id
    model = info.get("model")
    return DeviceInfo(
        host=host,
        device_id=device_id,
        model=str(model) if model is not None else "unknown",
        firmware=_text(info.get("fw_ver")),
        mac=_text(info.get("mac")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
