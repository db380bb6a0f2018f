"""SunSpec: today's energy by the home's clock, commands at most once and never late, the
config section, and the register decoder under arbitrary input."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sunspec_rig import HOME, SunSpecServer, add_energy_devices

from carhome.compose.config import parse_config
from carhome.connectors.sunspec import SunSpecConnector, SunSpecDeviceConfig, layout
from carhome.connectors.sunspec.config import SunSpecConfig
from carhome.errors import ConfigError
from carhome.hub import Command, CommandStatus, Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from yaml_mistakes import line_of, one_home

SHANGHAI = ZoneInfo("Asia/Shanghai")


def endpoint(server: SunSpecServer, **roles: str) -> SunSpecDeviceConfig:
    return SunSpecDeviceConfig(home=HOME, host="127.0.0.1", port=server.port, unit=server.unit, **roles)


async def test_energy_today_counts_from_the_homes_midnight_and_survives_a_restart() -> None:
    # 23:00 in Shanghai, whatever zone the test runs in
    clock = FakeClock(dt.datetime(2026, 6, 1, 23, 0, tzinfo=SHANGHAI).timestamp())
    async with Hub(store=MemoryStore(), clock=clock) as hub, SunSpecServer([1, 103]) as server:
        await add_energy_devices(hub, timezone="Asia/Shanghai")
        await server.set(103, W_SF=0, W=3000, WH_SF=0, WH=100_000)
        async with SunSpecConnector(hub, [endpoint(server, inverter="solar")]) as connector:
            await server.set(103, WH=101_500)
            assert await connector.poll(HOME, "solar")
            assert hub.value(HOME, "solar", "energy_today") == 1.5
        # carhome restarts the same evening: the day's start comes from its own record
        async with SunSpecConnector(hub, [endpoint(server, inverter="solar")]) as connector:
            await server.set(103, WH=102_000)
            assert await connector.poll(HOME, "solar")
            assert hub.value(HOME, "solar", "energy_today") == 2.0
            await server.set(103, WH=102_250)
            await clock.advance(3600 + 60)  # 00:01 the next day, local time; it polls meanwhile
            assert hub.value(HOME, "solar", "energy_today") == 0.0  # a new day starts at its first reading
            assert dt.datetime.fromtimestamp(hub.state(HOME, "solar")["energy_today"].ts, SHANGHAI).day == 2
            await server.set(103, WH=103_000)
            assert await connector.poll(HOME, "solar")
    assert hub.value(HOME, "solar", "energy_today") == 0.75
    assert hub.value(HOME, "solar", "energy_total") == 103.0


async def test_a_redelivered_command_is_answered_from_memory_and_written_once(
    energy_hub: Hub, clock: FakeClock
) -> None:
    async with SunSpecServer([1, 103, 123]) as server:
        await server.set(123, WMaxLimPct_SF=0, WMaxLimPct=100, WMaxLim_Ena=0)
        async with SunSpecConnector(energy_hub, [endpoint(server, inverter="solar")]) as connector:
            command = await energy_hub.submit(
                HOME, "solar", "set", "power_limit", {"value": 70}, member="owner", face="test"
            )
            first = await energy_hub.commands.wait(command.id)
            await server.set_raw(123, WMaxLimPct=100)  # changed at the inverter's own display
            await connector.deliver(command)  # the router delivers it again (a reconnect)
            await connector.deliver(command)
            assert connector.stats.delivered == 1
            assert await server.read_raw(123, "WMaxLimPct") == 100  # not written a second time
    assert first.status is CommandStatus.ACKED


async def test_a_command_past_its_expiry_is_never_written(energy_hub: Hub, clock: FakeClock) -> None:
    async with SunSpecServer([1, 103, 123]) as server:
        await server.set(123, WMaxLimPct_SF=0, WMaxLimPct=100, WMaxLim_Ena=0)
        async with SunSpecConnector(energy_hub, [endpoint(server, inverter="solar")]) as connector:
            now = clock.time()
            late = Command(
                id="late-1", home=HOME, device="solar", kind="set", target="power_limit", args={"value": 10},
                member="owner", face="test", created=now - 60, expires=now - 1,
            )  # fmt: skip
            await connector.deliver(late)  # as a router holding it past its expiry would
            # The command and polls take the device's lock in turn: once the second poll is
            # through, the command (queued before it) has run.
            assert await connector.poll(HOME, "solar")
            assert await connector.poll(HOME, "solar")
            assert (connector.stats.expired, connector.stats.acked) == (1, 0)
            assert await server.read_raw(123, "WMaxLimPct") == 100
            assert await server.read_raw(123, "WMaxLim_Ena") == 0


HUB_DEVICES = {
    ("h1", "solar"): ("solar_inverter", "sunspec"),
    ("h1", "grid"): ("grid_meter", "sunspec"),
    ("h1", "lamp"): ("light", "mqtt"),
    ("h1", "meter2"): ("grid_meter", "mqtt"),
}


@pytest.mark.parametrize(
    ("entry", "where", "says"),
    [
        ({"home": "h1", "host": "10.0.0.2"}, (), "name at least one hub device"),
        (
            {"home": "h1", "host": "10.0.0.2", "meter": "lamp"},
            ("meter",),
            "feeds a grid_meter, but h1/lamp is a light",
        ),
        ({"home": "h1", "host": "10.0.0.2", "meter": "meter2"}, ("meter",), "give it `connector: sunspec`"),
        ({"home": "h1", "host": "10.0.0.2", "inverter": "nope"}, ("inverter",), "no device h1/nope"),
    ],
)
def test_the_section_says_what_is_wrong_where(
    entry: dict[str, object], where: tuple[str, ...], says: str
) -> None:
    config = msgspec.convert({"devices": [entry]}, SunSpecConfig)
    [(path, message)] = config.problems(HUB_DEVICES)
    assert path == ("devices", 0, *where)
    assert says in message


def test_a_config_file_with_a_sunspec_section_loads_and_names_the_line_of_a_mistake() -> None:
    text = (
        one_home(
            "{id: solar, type: solar_inverter, connector: sunspec}",
            "{id: grid, type: grid_meter, connector: sunspec}",
        )
        + """\
sunspec:
  poll_interval: 5
  devices:
    - {home: h1, host: 192.168.1.40, unit: 1, inverter: solar, meter: grid}
"""
    )
    config = parse_config(text)
    assert config.sunspec is not None
    [device] = config.sunspec.devices
    assert (device.port, device.roles()) == (502, {"inverter": "solar", "meter": "grid"})
    wrong = text.replace("meter: grid}", "meter: grid, battery: solar}")
    with pytest.raises(ConfigError) as caught:
        parse_config(wrong)
    assert str(line_of(wrong, "battery: solar")) in str(caught.value).split(":")[1]  # the line of the entry
    assert "feeds a battery, but h1/solar is a solar_inverter" in str(caught.value)


REGISTER = st.integers(min_value=0, max_value=0xFFFF)


@settings(max_examples=300, deadline=None)
@given(model_id=st.sampled_from([1, 103, 113, 123, 124, 203, 213, 713, 802]), data=st.data())
def test_any_registers_decode_to_values_or_nothing_and_never_raise(
    model_id: int, data: st.DataObject
) -> None:
    known = layout(model_id)
    assert known is not None
    registers = data.draw(st.lists(REGISTER, min_size=0, max_size=known.length + 4))
    decoded = known.decode(registers)
    for name in known.points:
        value = decoded.value(name)
        assert value is None or isinstance(value, int | float | str)
        if isinstance(value, float):
            assert value == value  # never NaN: NaN means not implemented
    for point, reason in decoded.bad:
        assert point in known.points
        assert "outside -10 … 10" in reason
