"""The hub's MQTT intake takes what arrived in one read as one batch: a QoS 1 message is
acknowledged to the broker only after the hub applied it, and a burst lands in the order
it was sent, with the bad messages in it refused and the good ones beside them applied."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from types import TracebackType
from typing import Self

import msgspec

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Change, Hub

from .conftest import FAST, TIMEOUT, RawClient

STATE = "carhome/h1/purifier/state"
MID = 7
PUBACK = b"\x40\x02" + MID.to_bytes(2)


def _packet(first: int, body: bytes) -> bytes:
    assert len(body) < 128  # one byte of remaining length is all these need
    return bytes((first, len(body))) + body


class ScriptedBroker:
    """Just enough of an MQTT 3.1.1 broker on a real loopback socket to hand the hub one
    QoS 1 PUBLISH and see, byte for byte, when the hub acknowledges it (and to route the
    hub's heartbeat back to it, so the link does not count itself deaf)."""

    def __init__(self, retained: bytes = b"") -> None:
        self.retained = retained
        """Packets sent in the same write as the SUBACK, as a broker sends its retained
        messages right after it granted a subscription."""
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self._server.setblocking(False)
        self.url = f"mqtt://127.0.0.1:{self._server.getsockname()[1]}"
        self.conn: socket.socket | None = None
        self.acked = asyncio.Event()
        self.acks: list[int] = []
        """Packet ids of every PUBACK the hub sent, in order."""
        self.all_acked = asyncio.Event()
        self.expected_acks = 0
        self.writing = asyncio.Lock()
        """Held while a test writes a byte stream of its own in pieces: nothing cuts in."""
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.conn is not None:
            self.conn.close()
        self._server.close()

    async def _send(self, data: bytes) -> None:
        assert self.conn is not None
        async with self.writing:
            await asyncio.get_running_loop().sock_sendall(self.conn, data)

    async def _read(self, n: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < n:
            chunk = await asyncio.get_running_loop().sock_recv(self.conn, n - len(data))
            if not chunk:
                raise ConnectionResetError
            data += chunk
        return data

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.conn, _ = await loop.sock_accept(self._server)
        self.conn.setblocking(False)
        with contextlib.suppress(ConnectionError):
            while True:
                (first,) = await self._read(1)
                length, shift = 0, 0
                while True:
                    (byte,) = await self._read(1)
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await self._read(length)
                kind = first >> 4
                if kind == 1:  # CONNECT
                    await self._send(b"\x20\x02\x00\x00")
                elif kind == 8:  # SUBSCRIBE: grant QoS 1 to every filter
                    filters, at = 0, 2
                    while at < len(body):
                        at += 2 + int.from_bytes(body[at : at + 2]) + 1
                        filters += 1
                    await self._send(_packet(0x90, body[:2] + b"\x01" * filters) + self.retained)
                elif kind == 3 and (first >> 1) & 3:  # the hub's own QoS 1 PUBLISH (its status)
                    at = 2 + int.from_bytes(body[:2])
                    await self._send(_packet(0x40, body[at : at + 2]))
                elif kind == 3:  # its heartbeat (QoS 0), back to it as a broker routes it
                    await self._send(_packet(first, body))
                elif kind == 4:
                    self.acks.append(int.from_bytes(body))
                    if body == PUBACK[2:]:
                        self.acked.set()
                    if len(self.acks) >= self.expected_acks > 0:
                        self.all_acked.set()
                elif kind == 12:  # PINGREQ
                    await self._send(b"\xd0\x00")

    def publish(self, topic: str, payload: bytes) -> None:
        """Send the hub a QoS 1 PUBLISH with packet id ``MID``."""
        assert self.conn is not None
        name = topic.encode()
        self.conn.sendall(_packet(0x32, len(name).to_bytes(2) + name + MID.to_bytes(2) + payload))

    def publish_burst(self, topic: str, payloads: list[bytes], first_mid: int) -> None:
        """Send the hub QoS 1 PUBLISHes with packet ids from ``first_mid`` on, in one write."""
        assert self.conn is not None
        name = topic.encode()
        self.expected_acks = len(self.acks) + len(payloads)
        self.conn.sendall(
            b"".join(
                _packet(0x32, len(name).to_bytes(2) + name + (first_mid + n).to_bytes(2) + payload)
                for n, payload in enumerate(payloads)
            )
        )

    def acked_yet(self) -> bool:
        """Whether the hub's PUBACK for ``MID`` has reached the socket (not read yet)."""
        assert self.conn is not None
        try:
            waiting = self.conn.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        return PUBACK in waiting


async def test_a_qos1_state_is_acknowledged_only_after_the_hub_applied_it(hub: Hub) -> None:
    seen: list[tuple[object, bool]] = []
    async with ScriptedBroker() as broker, MqttConnector(hub, broker.url, backoff=FAST) as connector:
        assert connector.connected

        def applied(change: Change) -> None:
            seen.append((change.value, broker.acked_yet()))

        with hub.bus.subscribe(applied, home="h1", device="purifier", name="pm25"):
            broker.publish(STATE, b'{"pm25": 12}')
            async with asyncio.timeout(TIMEOUT):
                await broker.acked.wait()
    # applied first, with no PUBACK on the wire yet; acknowledged after
    assert seen == [(12, False)]


async def test_the_pubacks_of_one_read_go_out_in_one_send(hub: Hub) -> None:
    count, first_mid = 20, 100
    sends: list[object] = []
    async with ScriptedBroker() as broker, MqttConnector(hub, broker.url, backoff=FAST):
        ours = broker.conn

        def count_sends(frame: object, event: str, arg: object) -> None:
            # every send(2) of this thread but the scripted broker's own
            if event == "c_call" and getattr(arg, "__name__", "") == "send":
                owner = getattr(arg, "__self__", None)
                if isinstance(owner, socket.socket) and owner is not ours:
                    sends.append(owner)

        sys.setprofile(count_sends)
        try:
            broker.publish_burst(STATE, [msgspec.json.encode({"pm25": n}) for n in range(count)], first_mid)
            async with asyncio.timeout(TIMEOUT):
                await broker.all_acked.wait()
        finally:
            sys.setprofile(None)
    print(f"hub sends for the PUBACKs of {count} messages in one read: {len(sends)}")
    assert broker.acks[-count:] == list(range(first_mid, first_mid + count))
    assert hub.state("h1", "purifier")["pm25"].value == count - 1
    assert 1 <= len(sends) <= 2  # one read, one write (two if the read came split)


def _publish(topic: str, mid: int, payload: bytes, *, retain: bool = False) -> bytes:
    """A QoS 1 PUBLISH of any size (its remaining length in as many bytes as it needs)."""
    name = topic.encode()
    body = len(name).to_bytes(2) + name + mid.to_bytes(2) + payload
    length, size = b"", len(body)
    while True:
        size, byte = divmod(size, 128)
        length += bytes((byte | (0x80 if size else 0),))
        if not size:
            return (b"\x33" if retain else b"\x32") + length + body


async def test_a_retained_message_that_comes_with_the_suback_is_acknowledged(hub: Hub) -> None:
    # A broker sends the retained messages a subscription matches right after its SUBACK,
    # often in the same read, while the link is still finishing its connect. Unacknowledged,
    # each would hold one of the session's QoS 1 slots until the broker's ack wait ran out.
    retained = _publish("carhome/h1/purifier/status", 9, b"online", retain=True)
    async with ScriptedBroker(retained) as broker:
        broker.expected_acks = 1
        async with MqttConnector(hub, broker.url, backoff=FAST) as connector:
            async with asyncio.timeout(TIMEOUT):
                await broker.all_acked.wait()
    assert broker.acks == [9]
    assert connector.stats.received == 1


async def test_packets_cut_anywhere_by_the_reads_arrive_whole_and_in_order(hub: Hub) -> None:
    # payloads whose lengths take one, two and three bytes, a PINGRESP between them, and
    # the bytes sent in pieces that end inside fixed headers, lengths, topics and bodies
    payloads = [b'{"pm25": 1}', b'{"pm25": 2' + b" " * 200 + b"}", b'{"pm25": 3' + b" " * 20_000 + b"}"]
    packets = [_publish(STATE, 40, payloads[0]), b"\xd0\x00"]
    packets += [_publish(STATE, 41 + n, p) for n, p in enumerate(payloads[1:])]
    stream = b"".join(packets)
    starts = [sum(len(p) for p in packets[:n]) for n in range(len(packets))]
    cuts = sorted({c for at in starts for c in (at + 1, at + 2, at + 3, at + 9)} | {starts[3] + 10_000})
    values: list[object] = []
    async with ScriptedBroker() as broker, MqttConnector(hub, broker.url, backoff=FAST) as connector:
        assert broker.conn is not None
        broker.expected_acks = len(broker.acks) + 3
        with hub.bus.subscribe(lambda c: values.append(c.value), home="h1", device="purifier", name="pm25"):
            async with broker.writing:
                for begin, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
                    broker.conn.sendall(stream[begin:end])
                    await asyncio.sleep(0)  # a turn of the loop: the hub reads what came so far
            async with asyncio.timeout(TIMEOUT):
                await broker.all_acked.wait()
    # each taken whole (a batch may apply only the last of several values of a property)
    assert connector.stats.states == 3
    assert connector.stats.rejected == 0
    assert values == sorted(values)
    assert values[-1] == 3
    assert broker.acks[-3:] == [40, 41, 42]


async def test_a_burst_lands_in_order_with_the_bad_messages_in_it_refused(
    hub: Hub, connector: MqttConnector, broker_url: str
) -> None:
    values: list[object] = []
    last: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    count = 300

    def applied(change: Change) -> None:
        values.append(change.value)
        if change.value == count and not last.done():
            last.set_result(None)

    with hub.bus.subscribe(applied, home="h1", device="purifier", name="pm25"):
        async with RawClient(broker_url) as raw:
            for n in range(1, count + 1):
                raw.publish(STATE, msgspec.json.encode({"pm25": n}), qos=1)
                if n % 100 == 0:
                    raw.publish(STATE, b"{not json", qos=1)
            async with asyncio.timeout(TIMEOUT):
                await last
    assert values == list(range(1, count + 1))
    assert dict(hub.rejections.counts) == {"malformed_payload": 3}
    assert connector.stats.states == count + 3
