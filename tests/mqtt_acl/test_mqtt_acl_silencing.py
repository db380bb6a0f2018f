"""Nobody silences the hub, and a hub that hears nothing says so — on every broker carhome
ships or documents (the built-in NATS server, Mosquitto from the generated files).

The attack: a CONNECT that reuses the hub's client id (or the bridge's, or its username),
refused for a wrong password, or accepted with a device's own credentials. A broker drops
the older of two clients with one id; amqtt did so even before it checked the password,
and left the hub deaf while /api/health said ok. The figures: ``silenced: 0 s`` (the hub
keeps hearing the device throughout), and how soon health says deaf when the broker stops
delivering (SIGSTOP) — ``pytest -s tests/mqtt_acl`` prints them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator

import gmqtt
import httpx
import pytest
from acl_rig import AclBroker, Client

from carhome.api import create_app
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, Hub
from carhome.mqtt import MqttDeviceClient
from carhome.mqtt.credentials import Credentials
from mqtt.conftest import FAST, TIMEOUT, Recorder

VICTIM = ("h1", "purifier")
HEARTBEAT = 0.2  # seconds between the hub's heartbeats: deaf after three missed


class _Said(logging.Handler):
    """Sets an event when a log line containing ``words`` is emitted."""

    def __init__(self, words: str) -> None:
        super().__init__(logging.DEBUG)
        self.words = words
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.event.set()


@pytest.fixture
def said() -> Iterator[dict[str, _Said]]:
    """Events for the hub's link saying it hears nothing, and that it hears again."""
    link_log = logging.getLogger("carhome.mqtt.link")
    handlers = {"deaf": _Said("hears nothing"), "hearing": _Said("hears again")}
    level = link_log.level
    link_log.setLevel(logging.DEBUG)
    for handler in handlers.values():
        link_log.addHandler(handler)
    yield handlers
    for handler in handlers.values():
        link_log.removeHandler(handler)
    link_log.setLevel(level)


def _connector(hub: Hub, broker: AclBroker, credentials: Credentials) -> MqttConnector:
    """The hub's connector, logged in as the hub, with a fast heartbeat."""
    login = credentials.hub()
    return MqttConnector(
        hub,
        broker.url,
        username=login.username,
        password=login.password,
        backoff=FAST,
        heartbeat=HEARTBEAT,
    )


async def _online(hub: Hub) -> asyncio.Event:
    online = asyncio.Event()
    hub.bus.subscribe(
        lambda seen: seen.online and online.set(), kind=Availability, home=VICTIM[0], device=VICTIM[1]
    )
    return online


async def _heard(hub: Hub, value: int) -> None:
    """Wait until the hub has the victim's pm25 at ``value``."""
    arrived = asyncio.Event()
    sub = hub.bus.subscribe(
        lambda c: c.value == value and arrived.set(), home=VICTIM[0], device=VICTIM[1], name="pm25"
    )
    try:
        await asyncio.wait_for(arrived.wait(), TIMEOUT)
    finally:
        sub.cancel()


async def test_a_connect_reusing_the_hubs_client_id_silences_nobody(
    hub: Hub, acl_broker: AclBroker, credentials: Credentials
) -> None:
    hub_login, victim = credentials.hub(), credentials.device(*VICTIM)
    attacker = credentials.device("h1", "car")
    online = await _online(hub)
    async with (
        _connector(hub, acl_broker, credentials) as connector,
        MqttDeviceClient(
            *VICTIM,
            acl_broker.url,
            Recorder(),
            clock=hub.clock,
            username=victim.username,
            password=victim.password,
            backoff=FAST,
        ) as device,
    ):
        await asyncio.wait_for(online.wait(), TIMEOUT)
        loop = asyncio.get_running_loop()
        # Every id an attacker could know: the hub's and the bridge's names and usernames.
        guesses = ["carhome-hub", hub_login.username, "carhome-ha-carhome", credentials.bridge().username]
        tries = [(cid, password) for cid in guesses for password in ("wrong", attacker.password)]
        silenced = 0.0
        accepted = 0
        for value, (client_id, password) in enumerate(tries, start=1):
            before = (connector.connects, loop.time())
            try:
                async with Client(acl_broker.url, attacker.username, password, client_id=client_id):
                    accepted += 1
                    await device.publish_state({"pm25": value})
                    await _heard(hub, value)  # heard while the attacker is connected
            except gmqtt.MQTTConnectError:
                await device.publish_state({"pm25": value})
                await _heard(hub, value)
            if connector.connects != before[0]:
                silenced += loop.time() - before[1]
        deaf = connector.deafness()
    print(
        f"\nclient-id takeover ({acl_broker.kind}): {len(tries)} connects with the hub's and the"
        f" bridge's ids ({accepted} accepted), silenced: {silenced:.0f} s, hub reconnects"
        f" {connector.connects - 1}, deaf: {deaf}"
    )
    assert accepted == len(guesses)  # the attacker's own login works; only the id is borrowed
    assert connector.connects == 1
    assert silenced == 0
    assert deaf is None


async def test_a_broker_that_stops_delivering_makes_health_say_deaf(
    hub: Hub, acl_broker: AclBroker, credentials: Credentials, said: dict[str, _Said]
) -> None:
    async with _connector(hub, acl_broker, credentials) as connector:
        app = create_app(hub, health=(connector.deafness,))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as api:
            assert (await api.get("/api/health")).json()["status"] == "ok"
            pid = acl_broker.pid
            assert pid is not None
            loop = asyncio.get_running_loop()
            stopped = loop.time()
            os.kill(pid, signal.SIGSTOP)  # the connection stays up; nothing is delivered
            try:
                await asyncio.wait_for(said["deaf"].event.wait(), TIMEOUT)
                noticed = loop.time() - stopped
                deaf = (await api.get("/api/health")).json()
            finally:
                os.kill(pid, signal.SIGCONT)
            await asyncio.wait_for(said["hearing"].event.wait(), TIMEOUT)
            healed = (await api.get("/api/health")).json()
    print(
        f"\nbroker stops delivering ({acl_broker.kind}): health said deaf after {noticed:.1f} s"
        f" (bound {3 * HEARTBEAT:.1f} s + one beat), ok again once it delivers"
    )
    assert deaf["status"] == "degraded"
    assert any("heartbeat" in p for p in deaf["problems"])
    assert noticed < 4 * HEARTBEAT + 1
    assert healed["status"] == "ok"
    assert healed["problems"] == []
