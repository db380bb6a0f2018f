"""carhome's MIoT tables and connector against python-miio: its definitions and its client.

python-miio describes the models carhome maps — their properties' siid/piid and the enums of
their modes and statuses — and drives them the way Home Assistant's Xiaomi integration does.
Here carhome's tables are held to those definitions value by value, and python-miio's own
client, talking to the project's simulator on miIO's real port, changes a purifier's mode
under carhome's connector (as the Mi Home app would) and reads what carhome writes.
"""

from __future__ import annotations

import asyncio
import enum
import gc
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from miio_rig import HOME, TOKEN, on_the_miio_port

from availability_rig import Availability
from carhome.connectors.miio import MiioConnector, MiioDevice, ModelMap
from carhome.connectors.miio.mapping import AIR_PURIFIER_3C, AIR_PURIFIER_3H, VACUUM_DREAME_1C
from carhome.hub import Hub
from carhome.spec import SPECS
from carhome.testing import FakeClock
from carhome.testing.miio_device import SimulatedMiioDevice, air_purifier_3h


def _python_miio() -> tuple[Any, Any, Any, Any]:
    """python-miio's purifier and vacuum classes and enums; imported here, after carhome's
    connector imported python-miio with its click deprecation warning silenced."""
    from miio.integrations.airpurifier.zhimi import airpurifier_miot  # noqa: PLC0415
    from miio.integrations.vacuum.dreame import dreamevacuum_miot  # noqa: PLC0415

    return (
        airpurifier_miot.AirPurifierMiot,
        airpurifier_miot.OperationMode,
        dreamevacuum_miot.DreameVacuum,
        dreamevacuum_miot.DeviceStatus,
    )


AirPurifierMiot, OperationMode, DreameVacuum, DeviceStatus = _python_miio()

# carhome's property → python-miio's name for the same MIoT property, and the enum python-miio
# reads its values with (None: a number or a switch, taken as it comes).
PYTHON_MIIO: dict[str, tuple[Any, dict[str, tuple[str, type[enum.Enum] | None]]]] = {
    "air_purifier": (
        AirPurifierMiot,
        {
            "on": ("power", None),
            "fan_level": ("fan_level", None),
            "mode": ("mode", OperationMode),
            "pm25": ("aqi", None),
            "humidity": ("humidity", None),
            "filter_life": ("filter_life_remaining", None),
        },
    ),
    "robot_vacuum": (
        DreameVacuum,
        {
            "battery": ("battery_level", None),
            "status": ("device_status", DeviceStatus),
            "cleaned_area": ("cleaning_area", None),
        },
    ),
}
SUPPORTED = [pytest.param(m, id=m.models[0]) for m in (AIR_PURIFIER_3H, AIR_PURIFIER_3C, VACUUM_DREAME_1C)]


def _values(kind: type[enum.Enum]) -> list[int]:
    """The device values of a python-miio enum; ``Unknown`` (-1) is its placeholder for the rest."""
    return [member.value for member in kind if member.name != "Unknown"]


@pytest.mark.parametrize("mapping", SUPPORTED)
def test_the_table_is_python_miios_definition_of_the_model(mapping: ModelMap) -> None:
    device_class, names = PYTHON_MIIO[mapping.device_type]
    checked = unmapped = 0
    for model in mapping.models:
        theirs: Mapping[str, Mapping[str, int]] = device_class._mappings[model]  # python-miio's own table
        for pmap in mapping.properties:
            name, values = names[pmap.prop]
            assert (theirs[name]["siid"], theirs[name]["piid"]) == pmap.key, (model, pmap.prop)
            if values is None:
                continue
            allowed = SPECS[mapping.device_type].properties[pmap.prop].allowed or ()
            for value in _values(values):
                checked += 1
                word = dict(pmap.values).get(value)
                unmapped += word is None or word not in allowed
    print(f"{mapping.models[0]}: python-miio values without a carhome word: {unmapped} of {checked}")
    assert checked > 0
    assert unmapped == 0


def test_the_fan_level_range_is_python_miios() -> None:
    # python-miio refuses a fan level outside 1..3 before sending anything
    purifier = AirPurifierMiot("192.0.2.1", TOKEN, model="zhimi.airpurifier.mb3")
    fan_level = SPECS["air_purifier"].properties["fan_level"]
    assert (fan_level.minimum, fan_level.maximum) == (1, 3)
    for outside in (0, 4):
        with pytest.raises(Exception, match="Invalid fan level"):
            purifier.set_fan_level(outside)


@pytest.fixture
async def purifier_on_miio_port(clock: FakeClock) -> AsyncIterator[SimulatedMiioDevice]:
    sim = await on_the_miio_port(air_purifier_3h, clock)
    try:
        yield sim
    finally:
        await sim.stop()


# python-miio's synchronous client opens a socket per request and never closes it.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_mode_python_miio_sets_reaches_carhome_and_carhome_writes_it_back(
    miio_hub: Hub, purifier_on_miio_port: SimulatedMiioDevice, availability: Availability
) -> None:
    sim = purifier_on_miio_port
    app = AirPurifierMiot(sim.host, TOKEN, timeout=2, model=sim.model)
    device = MiioDevice(
        home=HOME, device="purifier", host=sim.host, port=sim.port, token=TOKEN, model=sim.model
    )
    try:
        async with MiioConnector(miio_hub, [device], poll_interval=30) as connector:
            await availability.wait("purifier", online=True)
            assert miio_hub.value(HOME, "purifier", "mode") == "auto"

            # The Mi Home app (here python-miio, as Home Assistant's Xiaomi integration) sets Fan.
            await asyncio.to_thread(app.set_mode, OperationMode.Fan)
            assert await connector.poll(HOME, "purifier")
            assert miio_hub.value(HOME, "purifier", "mode") == "fan"

            # carhome sets auto, then fan; python-miio reads each back as its own enum.
            read_back = []
            for word in ("auto", "fan"):
                command = await miio_hub.submit(
                    HOME, "purifier", "set", "mode", {"value": word}, member="alice", face="test"
                )
                assert (await miio_hub.commands.wait(command.id)).status == "acked"
                status = await asyncio.to_thread(app.status)
                read_back.append(status.mode)
            assert read_back == [OperationMode.Auto, OperationMode.Fan]

            # A mode no definition has (a newer firmware's) is a counted rejection.
            before = miio_hub.rejections.counts["not_mapped"]
            sim.properties[(2, 5)].value = 9
            assert await connector.poll(HOME, "purifier")
            assert (await asyncio.to_thread(app.status)).mode is OperationMode.Unknown
            assert miio_hub.rejections.counts["not_mapped"] == before + 1
            [last] = [r for r in miio_hub.rejections.last if r.code == "not_mapped"]
            assert (last.device, last.prop) == ("purifier", "mode")
            assert "MIoT value 9 of 2.5" in last.reason
            assert connector.stats.rejected_values == 1
    finally:
        gc.collect()  # python-miio's leaked sockets are reported here, under this test's filter
