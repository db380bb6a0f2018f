"""Zigbee locks: in the ``home_lock`` domain for the gatekeeper, never unlocked by a plain
write, and unlocked only when an owner trusts the lock (it cannot verify a signature)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from zigbee_rig import LOCK, LOCK_IEEE, PLUG, Bridge, config, listed

from carhome.access.audit import AuditLog, MemoryAuditStore
from carhome.access.gatekeeper import PolicyGatekeeper
from carhome.access.members import Member, Members
from carhome.connectors.zigbee2mqtt import TrustedLock, Zigbee2MqttConnector
from carhome.errors import CommandDenied, ConfigError, InvalidCommand
from carhome.hub import Command, CommandStatus, Hub
from carhome.testing import FakeClock
from carhome.wire.members import Role
from mqtt.conftest import FAST, TIMEOUT, Mosquitto


def members() -> Members:
    return Members(members=[Member("ana", "h1", "Ana", Role.OWNER), Member("kid", "h1", "Kid", Role.FAMILY)])


def owners(people: Members) -> Callable[[str, str], bool]:
    """What the hub gives the connector: whether a member is an owner of a home now."""

    def owns(home: str, member: str) -> bool:
        found = people.get(member)
        return found is not None and found.home == home and found.role is Role.OWNER and not found.revoked

    return owns


async def act(hub: Hub, target: str, *, member: str = "ana", signature: str | None = None) -> Command:
    command = await hub.submit("h1", LOCK, "action", target, member=member, face="cli", signature=signature)
    return await hub.commands.wait(command.id, timeout=TIMEOUT)


async def test_an_untrusted_lock_locks_but_never_unlocks(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    refused = await act(hub, "unlock")
    assert refused.status is CommandStatus.FAILED
    assert refused.error is not None
    assert "cannot verify the member's signature" in refused.error
    assert f"zigbee2mqtt.trusted_locks (ieee_address {LOCK_IEEE}, owner)" in refused.error
    locking = await hub.submit("h1", LOCK, "action", "lock", member="ana", face="cli")
    # the next message to the lock is the lock: the unlock was never sent
    assert await bridge.next_set("front_door/lock") == {"state": "LOCK"}
    bridge.recorded("lock_locked")
    assert (await hub.commands.wait(locking.id, timeout=TIMEOUT)).result == {"state": True}
    assert hub.value("h1", LOCK, "lock_state") == "locked"


async def test_no_plain_write_goes_around_the_lock(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector
) -> None:
    await listed(bridge, zigbee)
    for target, value in (("state", False), ("auto_relock_time", 0), ("pin_code.pin_code", 1234)):
        with pytest.raises(InvalidCommand):
            await hub.submit("h1", LOCK, "set", target, {"value": value}, member="ana", face="cli")


async def test_a_lock_an_owner_trusts_unlocks_while_they_are_an_owner(
    hub: Hub, bridge: Bridge, mosquitto: Mosquitto
) -> None:
    people = members()
    trusted = config(
        mosquitto.url,
        trusted_locks=(TrustedLock(ieee_address=LOCK_IEEE.upper().replace("0X", "0x"), owner="ana"),),
    )
    async with Zigbee2MqttConnector(hub, trusted, owners=owners(people), backoff=FAST) as zigbee:
        await listed(bridge, zigbee)
        unlocking = await hub.submit("h1", LOCK, "action", "unlock", member="kid", face="cli")
        assert await bridge.next_set("front_door/lock") == {"state": "UNLOCK"}
        bridge.recorded("lock_unlocked")
        assert (await hub.commands.wait(unlocking.id, timeout=TIMEOUT)).status is CommandStatus.ACKED
        await people.revoke("ana")
        refused = await act(hub, "unlock", member="kid")
        assert refused.error is not None
        assert "ana, who is no longer an owner of h1" in refused.error


async def test_only_an_owner_of_the_home_can_trust_a_lock(hub: Hub, mosquitto: Mosquitto) -> None:
    for owner in ("kid", "nobody"):
        trusted = config(mosquitto.url, trusted_locks=(TrustedLock(ieee_address=LOCK_IEEE, owner=owner),))
        with pytest.raises(ConfigError, match=f"{owner!r} is not an owner of 'h1'"):
            async with Zigbee2MqttConnector(hub, trusted, owners=owners(members()), backoff=FAST):
                pass
    with pytest.raises(ConfigError, match="needs the hub's members"):
        async with Zigbee2MqttConnector(hub, trusted, backoff=FAST):
            pass


async def test_the_gatekeeper_treats_a_zigbee_lock_as_a_lock(
    hub: Hub, bridge: Bridge, zigbee: Zigbee2MqttConnector, clock: FakeClock
) -> None:
    await listed(bridge, zigbee)
    hub.commands.gatekeeper = PolicyGatekeeper(members(), AuditLog(MemoryAuditStore(), clock), clock)
    for target in ("lock", "unlock"):
        with pytest.raises(CommandDenied, match="unsigned: a home_lock command needs the member's signature"):
            await hub.submit("h1", LOCK, "action", target, member="ana", face="cli")
    # a signature only the device could check gets past the hub, and still opens nothing
    refused = await act(hub, "unlock", signature="c2lnbmVkIGJ5IHNvbWVvbmU")
    assert refused.status is CommandStatus.FAILED
    plug = await hub.submit("h1", PLUG, "action", "turn_on", member="kid", face="cli")
    assert await bridge.next_set("power_plug") == {"state": "ON"}  # ordinary devices need no signature
    assert plug.status is CommandStatus.SENT
