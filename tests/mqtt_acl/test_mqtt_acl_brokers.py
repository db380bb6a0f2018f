"""Device identities against both brokers: who gets in, and that nobody leaves their lane.

The figure of RELIABILITY.md ("devices stay in their lane") is printed by
``test_every_identity_stays_in_its_lane``: run ``pytest -s tests/mqtt_acl`` to see it.
"""

from __future__ import annotations

import asyncio
import contextlib

import gmqtt
import pytest
from acl_rig import AclBroker, Client, login

from carhome.connectors.homeassistant import HomeAssistantBridge
from carhome.connectors.mqtt import MqttConnector
from carhome.errors import BrokerUnavailable
from carhome.hub import Availability, CommandStatus, Hub
from carhome.mqtt import MqttDeviceClient
from carhome.mqtt.credentials import (
    Access,
    AclTable,
    Credentials,
    device_username,
    topic_matches,
)
from mqtt.conftest import FAST, TIMEOUT, Recorder, TcpProxy

ATTACKER = ("h1", "car")
VICTIM = ("h1", "purifier")
# Filters nobody's rules name, that a snooper would try first.
GREEDY = ("#", "$SYS/#", "carhome/#", "+/+/+/+", "carhome/+/+/+", "homeassistant/#")


def concrete(topic_filter: str, victim: tuple[str, str]) -> str:
    """A topic the filter matches, naming ``victim`` where the filter has wildcards."""
    fill = iter((*victim, "on", "set"))
    return "/".join(next(fill, "x") if level in ("+", "#") else level for level in topic_filter.split("/"))


def victim_of(username: str) -> tuple[str, str]:
    return VICTIM if username != device_username(*VICTIM) else ATTACKER


def writes(acl: AclTable, user: str) -> list[str]:
    return [concrete(r.filter, victim_of(user)) for r in acl.rules(user) if r.access is Access.WRITE]


def reads(acl: AclTable, user: str) -> list[str]:
    return [r.filter for r in acl.rules(user) if r.access is Access.READ]


def wide(acl: AclTable, user: str) -> list[str]:
    return [r.filter for r in acl.rules(user) if r.access is Access.SUBSCRIBE]


def marker(acl: AclTable, user: str) -> tuple[str, str]:
    """A topic ``user`` reads and another identity writes, and that writer."""
    for topic_filter in reads(acl, user):
        topic = concrete(topic_filter, victim_of(user))
        writer = next((u for u in acl.users() if u != user and acl.may_publish(u, topic)), None)
        if writer is not None:
            return topic, writer
    raise AssertionError(f"nobody writes anything {user} reads")


# -- who gets in -------------------------------------------------------------------------------


async def test_only_identities_with_their_password_get_in(
    acl_broker: AclBroker, credentials: Credentials
) -> None:
    car = credentials.device(*ATTACKER)
    hub = credentials.hub()
    tries = [
        (None, None),  # anonymous
        (car.username, "not-the-password"),
        (car.username, ""),
        (car.username, hub.password),  # another identity's password
        ("h1/garage", car.password),  # a username nobody was given
    ]
    accepted = 0
    for username, password in tries:
        with pytest.raises(gmqtt.MQTTConnectError, match="not authori"):
            async with Client(acl_broker.url, username, password):
                accepted += 1
    print(
        f"\nmqtt auth ({acl_broker.kind}): logins without valid credentials {len(tries)}, accepted {accepted}"
    )
    assert accepted == 0
    async with Client(acl_broker.url, car.username, car.password) as client:
        assert client.client.is_connected


async def test_carhome_clients_need_their_credentials(
    hub: Hub, acl_broker: AclBroker, credentials: Credentials
) -> None:
    with pytest.raises(BrokerUnavailable, match="cannot connect"):
        async with MqttDeviceClient(*VICTIM, acl_broker.url, Recorder(), clock=hub.clock, backoff=FAST):
            pass
    with pytest.raises(BrokerUnavailable, match="cannot connect"):
        async with MqttConnector(hub, acl_broker.url, backoff=FAST):
            pass


# -- the legitimate flows ----------------------------------------------------------------------


async def test_state_in_command_out_ack_back(
    hub: Hub, acl_broker: AclBroker, credentials: Credentials
) -> None:
    hub_login, purifier_login = credentials.hub(), credentials.device(*VICTIM)
    recorder = Recorder()
    online = asyncio.get_running_loop().create_future()
    hub.bus.subscribe(
        lambda seen: seen.online and not online.done() and online.set_result(seen.device),
        kind=Availability,
        home="h1",
        device="purifier",
    )
    async with (
        MqttConnector(
            hub, acl_broker.url, username=hub_login.username, password=hub_login.password, backoff=FAST
        ),
        MqttDeviceClient(
            *VICTIM,
            acl_broker.url,
            recorder,
            clock=hub.clock,
            username=purifier_login.username,
            password=purifier_login.password,
            backoff=FAST,
        ) as purifier,
    ):
        await asyncio.wait_for(online, TIMEOUT)
        changed = asyncio.get_running_loop().create_future()
        sub = hub.bus.subscribe(
            lambda c: changed.done() or changed.set_result(c.value), home="h1", device="purifier", name="pm25"
        )
        await purifier.publish_state({"pm25": 42})
        assert await asyncio.wait_for(changed, TIMEOUT) == 42
        sub.cancel()
        command = await hub.submit("h1", "purifier", "action", "turn_on", member="alice", face="test")
        done = await hub.commands.wait(command.id, timeout=TIMEOUT)
        assert done.status is CommandStatus.ACKED
        assert recorder.calls == [("action", "turn_on", {})]


async def test_home_assistant_sees_discovery_through_its_identity(
    hub: Hub, acl_broker: AclBroker, credentials: Credentials
) -> None:
    bridge = credentials.bridge()
    async with login(acl_broker.url, credentials, credentials.home_assistant().username) as ha:
        assert 0x80 not in await ha.subscribe("homeassistant/#")
        async with HomeAssistantBridge(
            hub,
            acl_broker.url,
            member="alice",
            username=bridge.username,
            password=bridge.password,
            backoff=FAST,
        ):
            await ha.until("homeassistant/device/carhome_h1_car/config")
            await ha.until("homeassistant/device/carhome_h1_purifier/config")
    configs = {t for t, _, _ in ha.received if t.endswith("/config")}
    assert configs == {
        "homeassistant/device/carhome_h1_car/config",
        "homeassistant/device/carhome_h1_purifier/config",
    }


# -- the figure: nobody leaves their lane ------------------------------------------------------


async def test_every_identity_stays_in_its_lane(acl_broker: AclBroker, credentials: Credentials) -> None:
    """Every identity publishes to every topic another may write and it may not, and
    subscribes to every filter another may read and it may not (and to #, $SYS/# …);
    then everyone's legitimate traffic flows. Nothing forged may arrive anywhere, and
    nobody may receive a topic its rules do not let it read."""
    acl = credentials.acl()
    users = acl.users()
    clients = {u: await login(acl_broker.url, credentials, u).connect() for u in users}
    try:
        for user, client in clients.items():
            assert 0x80 not in await client.subscribe(*reads(acl, user)), user
            if wide(acl, user):
                # A SUBSCRIBE rule's filter: the built-in broker grants it and keeps what the
                # user may not read away from it (checked below with everything delivered);
                # Mosquitto, without the rule in its ACL file, delivers nothing it does not
                # allow on it either.
                granted = await client.subscribe(*wide(acl, user))
                assert acl_broker.builtin is None or 0x80 not in granted, user

        publishes = subscriptions = refused = 0
        forged_asks = 0  # of them, asks to resend (hub → device) forged by a device
        for user, client in clients.items():
            others = {t for other in users if other != user for t in writes(acl, other)}
            for topic in sorted(t for t in others if not acl.may_publish(user, t)):
                await client.publish(topic, f"forged {user} {topic}".encode(), retain=True)
                publishes += 1
                forged_asks += topic.endswith("/resend") and user.count("/") == 1
        for user, client in clients.items():
            others = {f for other in users if other != user for f in reads(acl, other)}
            for topic_filter in sorted({*others, *GREEDY}):
                if not acl.may_subscribe(user, topic_filter):
                    (code,) = await client.subscribe(topic_filter)
                    subscriptions += 1
                    refused += code == 0x80

        legit: list[tuple[str, str]] = []
        for user, client in clients.items():
            for topic in writes(acl, user):
                await client.publish(topic, f"legit {user} {topic}".encode())
                legit.append((user, topic))
        # A marker for each identity, sent after everything else: when it arrives, so has
        # everything the broker routed to that identity before it.
        markers = {user: marker(acl, user) for user in users}
        for user, (topic, writer) in markers.items():
            await clients[writer].publish(topic, f"marker {user}".encode())
        for user, (topic, _) in markers.items():
            await clients[user].until(topic, f"marker {user}".encode())

        delivered = [
            (user, topic, payload)
            for user, client in clients.items()
            for topic, payload, _ in client.received
            if payload.startswith(b"forged") or not acl.may_receive(user, topic)
        ]
        missing = [
            (reader, topic)
            for writer, topic in legit
            for reader in users
            if reader != writer
            and acl.may_receive(reader, topic)
            and (topic, f"legit {writer} {topic}".encode(), False) not in clients[reader].received
        ]
    finally:
        for client in clients.values():
            await client.close()
    attempted = publishes + subscriptions
    print(
        f"\nmqtt acl ({acl_broker.kind}): violations attempted {attempted}, delivered {len(delivered)}"
        f" ({publishes} publishes, {subscriptions} subscriptions of which {refused} refused at SUBACK,"
        f" {len(users)} identities; {len(legit)} legitimate publishes, {len(missing)} missed)"
    )
    assert delivered == []
    assert missing == []
    assert publishes > 50
    assert subscriptions > 50
    # each device tried to ask another to resend (delivered 0, above); the hub asks legitimately
    assert forged_asks == sum(u.count("/") == 1 for u in users)
    assert any(topic.endswith("/resend") for _, topic in legit)
    if acl_broker.builtin is not None:
        # The NATS server reports each refusal in its log, a moment after the client heard.
        stats = await acl_broker.builtin.wait_stats(
            lambda s: s.denied_publishes >= publishes and s.denied_subscriptions >= subscriptions
        )
        assert refused == subscriptions == stats.denied_subscriptions
        assert stats.denied_publishes == publishes
        counts = acl_broker.rejections.counts
        assert counts["broker_refused_publish"] == publishes
        assert counts["broker_refused_subscribe"] == subscriptions


async def test_a_device_cannot_sign_off_another_with_its_will(
    acl_broker: AclBroker, credentials: Credentials
) -> None:
    """A will on the victim's status topic: both brokers take the CONNECT and drop the will
    when it fires, so the hub never hears the victim is ``offline``."""
    acl = credentials.acl()
    victim_status = f"carhome/{VICTIM[0]}/{VICTIM[1]}/status"
    victim = await login(acl_broker.url, credentials, device_username(*VICTIM)).connect()
    hub = await login(acl_broker.url, credentials, credentials.hub().username).connect()
    try:
        await hub.subscribe(*reads(acl, credentials.hub().username))
        port = int(acl_broker.url.rsplit(":", 1)[1])
        async with TcpProxy(port) as proxy:
            will = gmqtt.Message(victim_status, b"offline", qos=1, retain=True)
            attacker = Client(
                proxy.url, device_username(*ATTACKER), credentials.device(*ATTACKER).password, will=will
            )
            try:
                await attacker.connect()
                accepted = True
            except gmqtt.MQTTConnectError:
                accepted = False
            await proxy.cut()  # no DISCONNECT: a will that was accepted fires now
            await attacker.close()
        if acl_broker.builtin is not None:
            # The NATS server checks the will when it fires, and says it refused it.
            await acl_broker.builtin.wait_stats(lambda s: s.denied_publishes >= 1)
        await victim.publish(f"carhome/{VICTIM[0]}/{VICTIM[1]}/state", b"marker")
        await hub.until(f"carhome/{VICTIM[0]}/{VICTIM[1]}/state", b"marker")
    finally:
        await victim.close()
        await hub.close()
    print(f"\nmqtt will ({acl_broker.kind}): connect with a foreign will accepted={accepted}, delivered 0")
    assert all(topic != victim_status for topic, _, _ in hub.received)
    assert accepted
    assert topic_matches("carhome/+/+/status", victim_status)


async def test_a_100_mb_message_is_refused_by_the_broker(
    acl_broker: AclBroker, credentials: Credentials
) -> None:
    """A device sends one 100 MB message to its own state topic: the broker refuses it
    (the NATS server's max_payload, Mosquitto's message_size_limit from the generated
    conf), nobody receives it, and the device's next messages flow as before."""
    state = f"carhome/{ATTACKER[0]}/{ATTACKER[1]}/state"
    hub = await login(acl_broker.url, credentials, credentials.hub().username).connect()
    try:
        await hub.subscribe(state)
        async with login(acl_broker.url, credentials, device_username(*ATTACKER)) as flooder:
            flooder.client.publish(state, b"x" * (100 * 1024 * 1024), qos=1)
            with contextlib.suppress(TimeoutError):
                # NATS drops the connection; Mosquitto (MQTT 3.1.1) acknowledges and drops the message
                await asyncio.wait_for(flooder.client.outbox.wait_empty(), TIMEOUT)
        if acl_broker.builtin is not None:
            await acl_broker.builtin.wait_stats(lambda s: s.oversized == 1)
        async with login(acl_broker.url, credentials, device_username(*ATTACKER)) as device:
            await device.publish(state, b"after")
        await hub.until(state, b"after")
    finally:
        await hub.close()
    biggest = max(len(payload) for _, payload, _ in hub.received)
    print(f"\nmqtt 100 MB message ({acl_broker.kind}): delivered 0, largest delivered {biggest} bytes")
    assert biggest < 1024 * 1024
