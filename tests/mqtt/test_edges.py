"""The connector's and broker's edges: URLs, unreachable brokers, protocols, names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carhome.connectors.mqtt import MqttConnector
from carhome.errors import BrokerUnavailable, ConfigError, ConnectorError, InvalidName
from carhome.hub import CommandStatus, Hub
from carhome.mqtt import Backoff, BrokerUrl, EmbeddedBroker, MqttDeviceClient
from carhome.testing import FakeClock

from .conftest import TIMEOUT, Mosquitto, Recorder, free_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", BrokerUrl("127.0.0.1", 1883)),
        ("mqtt://broker", BrokerUrl("broker", 1883)),
        ("mqtts://broker", BrokerUrl("broker", 8883, tls=True)),
        ("mqtt://hub:s%40cret@broker:1884/", BrokerUrl("broker", 1884, False, "hub", "s@cret")),
    ],
)
def test_broker_url_parses(url: str, expected: BrokerUrl) -> None:
    assert BrokerUrl.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    ["http://broker", "mqtt://", "mqtt://broker:99999", "mqtt://broker/topic", "broker:1883", "mqtt://b:x"],
)
def test_bad_broker_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="broker URL"):
        BrokerUrl.parse(url)


def test_broker_url_never_shows_the_password() -> None:
    assert str(BrokerUrl.parse("mqtt://hub:secret@broker")) == "mqtt://hub@broker:1883"


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = Backoff(first=1, most=4, jitter=0).delays()
    assert [next(delays) for _ in range(5)] == [1, 2, 4, 4, 4]
    with pytest.raises(ConfigError):
        Backoff(first=0)


async def test_unreachable_broker_is_broker_unavailable(hub: Hub) -> None:
    with pytest.raises(BrokerUnavailable, match="check that it runs"):
        async with MqttConnector(hub, f"mqtt://127.0.0.1:{free_port()}"):
            pass


async def test_device_publish_while_down_is_a_connector_error(
    hub: Hub, clock: FakeClock, mosquitto: Mosquitto, recorder: Recorder
) -> None:
    async with MqttDeviceClient(
        "h1", "purifier", mosquitto.url, recorder, clock=hub.clock, backoff=Backoff(first=5, most=5)
    ) as device:
        sleeping = len(clock.deadlines)
        await mosquitto.stop()
        # the link has seen the socket close once it sleeps its backoff on the clock
        await asyncio.wait_for(clock.until_sleeping(sleeping + 1), TIMEOUT)
        with pytest.raises(ConnectorError, match="not connected"):
            await device.publish_state({"on": True})


def test_device_ids_are_checked(hub: Hub, recorder: Recorder) -> None:
    with pytest.raises(InvalidName):
        MqttDeviceClient("h1", "Bad Device", "mqtt://127.0.0.1", recorder, clock=hub.clock)


async def test_builtin_broker_port_taken_is_broker_unavailable(
    builtin_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    with pytest.raises(BrokerUnavailable, match=r"address already in use.*choose another"):
        async with EmbeddedBroker("127.0.0.1", builtin_broker.port, data_dir=tmp_path / "second"):
            pass


@pytest.mark.mosquitto
async def test_mqtt5_round_trip(hub: Hub, mosquitto: Mosquitto, recorder: Recorder) -> None:
    async with (
        MqttConnector(hub, mosquitto.url, protocol=5),
        MqttDeviceClient("h1", "purifier", mosquitto.url, recorder, clock=hub.clock, protocol=5),
    ):
        command = await hub.submit("h1", "purifier", "action", "toggle", member="a", face="t")
        assert (await hub.commands.wait(command.id, TIMEOUT)).status is CommandStatus.ACKED


async def test_mqtt5_against_the_builtin_broker_says_to_use_311(
    hub: Hub, builtin_broker: EmbeddedBroker
) -> None:
    # The NATS server speaks MQTT 3.1.1 only: it refuses an MQTT 5 CONNECT.
    with pytest.raises(BrokerUnavailable, match="use protocol 311"):
        async with MqttConnector(hub, builtin_broker.url, protocol=5, connect_timeout=0.3):
            pass
