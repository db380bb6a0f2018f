"""The simulated home with per-device identities: every device connects as itself, and the
hub still gets every report and every ack through brokers that enforce the ACL."""

from __future__ import annotations

import asyncio

import pytest
from acl_rig import AclBroker

from carhome.connectors.mqtt import MqttConnector
from carhome.errors import BrokerUnavailable
from carhome.hub import Change, CommandStatus, Hub
from carhome.mqtt.credentials import Credentials
from carhome.sim import Outdoor, SimHome, SimRunner
from carhome.testing import FakeClock
from mqtt.conftest import FAST, TIMEOUT


@pytest.fixture
def home(hub: Hub) -> SimHome:
    return SimHome(hub.home("h1"), outdoor=Outdoor(fixed_temperature=5.0), routine=False)


@pytest.fixture
def credentials(home: SimHome) -> Credentials:
    """Overrides the rig's: an identity for every device of the simulated home."""
    return Credentials.make((d.home, d.id) for d in home.records())


async def test_every_simulated_device_reports_as_itself(
    hub: Hub, home: SimHome, clock: FakeClock, acl_broker: AclBroker, credentials: Credentials
) -> None:
    for record in home.records():
        if record.id not in {d.id for d in hub.devices("h1")}:
            await hub.add_device(record)
    reported = asyncio.Event()

    def arrived(_: Change) -> None:
        if all(hub.state("h1", device) for device in home.devices):
            reported.set()

    sub = hub.bus.subscribe(arrived, home="h1")
    login = credentials.hub()
    async with (
        MqttConnector(hub, acl_broker.url, username=login.username, password=login.password, backoff=FAST),
        SimRunner(home, acl_broker.url, clock=clock, credentials=credentials),
    ):
        await asyncio.wait_for(reported.wait(), TIMEOUT)
        sub.cancel()
        command = await hub.submit("h1", "car", "action", "lock", member="owner", face="test")
        assert (await hub.commands.wait(command.id, timeout=TIMEOUT)).status is CommandStatus.ACKED
    assert len(home.devices) > 5
    if acl_broker.builtin is not None:
        assert acl_broker.builtin.stats.denied_publishes == 0
        assert acl_broker.builtin.stats.refused_connections == 0


async def test_a_simulated_device_without_credentials_is_refused(
    hub: Hub, home: SimHome, clock: FakeClock, acl_broker: AclBroker
) -> None:
    with pytest.raises(BrokerUnavailable, match="cannot connect"):
        async with SimRunner(home, acl_broker.url, clock=clock):
            pass
