"""The SunSpec connector against pymodbus' server serving maps built from pysunspec2's models."""

from __future__ import annotations

import logging

import pytest
from sunspec_rig import HOME, SunSpecServer

from availability_rig import Availability
from carhome.connectors.sunspec import SunSpecConnector, SunSpecDeviceConfig
from carhome.hub import CommandStatus, Hub

ALL_ROLES = {"inverter": "solar", "meter": "grid", "battery": "storage"}


def endpoint(server: SunSpecServer, **roles: str) -> SunSpecDeviceConfig:
    return SunSpecDeviceConfig(home=HOME, host="127.0.0.1", port=server.port, unit=server.unit, **roles)


def values(hub: Hub, device: str) -> dict[str, object]:
    return {p: s.value for p, s in hub.state(HOME, device).items()}


async def three_phase_site(server: SunSpecServer) -> None:
    """An inverter producing 2345.6 W, a meter exporting 1.5 kW, a battery charging at 2 kW."""
    await server.set(1, Mn="Fronius", Md="Symo 10.0-3-M", Vr="1.28.7-1", SN="31415926")
    await server.set(
        103,
        W_SF=-1,
        W=2345.6,
        DCW_SF=0,
        DCW=2410,
        WH_SF=0,
        WH=12_345_678,
        St=4,
    )
    await server.set(
        203,
        W_SF=0,
        W=-1500,
        WphA=-700,
        WphB=-500,
        WphC=-300,
        A_SF=-1,
        AphA=-3.2,
        AphB=2.5,
        AphC=1.3,
        V_SF=-1,
        PhVphA=231.4,
        PhVphB=229.9,
        PhVphC=230.2,
        Hz_SF=-2,
        Hz=50.02,
        TotWh_SF=1,
        TotWhImp=4_567_890,
        TotWhExp=1_234_560,
    )
    await server.set(802, SoC_SF=-1, SoC=55.5, W_SF=0, W=-2000, ChaSt=4, WHRtg_SF=1, WHRtg=10_240)


async def test_inverter_meter_and_battery_reach_the_hub_scaled_and_in_carhome_units(
    energy_hub: Hub, availability: Availability
) -> None:
    async with SunSpecServer([1, 103, 203, 802]) as server:
        await three_phase_site(server)
        async with SunSpecConnector(energy_hub, [endpoint(server, **ALL_ROLES)]) as connector:
            assert await connector.poll(HOME, "solar")
            identity = connector.identity(HOME, "grid")
    assert values(energy_hub, "solar") == {
        "power": 2345.6,
        "dc_power": 2410,
        "energy_total": 12345.678,  # Wh in SunSpec, kWh in carhome
        "energy_today": 0.0,  # the first reading of the day starts it
        "status": "producing",  # SunSpec St 4, MPPT
    }
    assert values(energy_hub, "grid") == {
        "power": -1500,  # exporting
        "power_l1": -700,
        "power_l2": -500,
        "power_l3": -300,
        "current_l1": 3.2,  # a magnitude: what the fuse carries, whichever way
        "current_l2": 2.5,
        "current_l3": 1.3,
        "voltage_l1": 231.4,
        "voltage_l2": 229.9,
        "voltage_l3": 230.2,
        "frequency": 50.02,
        "import_energy": 4567.89,
        "export_energy": 1234.56,
    }
    assert values(energy_hub, "storage") == {
        "state_of_charge": 55.5,
        "power": -2000,  # charging
        "status": "charging",
        "capacity": 10.24,  # 10 240 Wh, held as 1024 at scale factor 1
    }
    assert {s.source for s in energy_hub.state(HOME, "grid").values()} == {"sunspec"}
    assert all(availability.last(d) is True for d in ALL_ROLES.values())
    assert identity == {
        "manufacturer": "Fronius",
        "model": "Symo 10.0-3-M",
        "version": "1.28.7-1",
        "serial": "31415926",
    }
    assert energy_hub.rejections.total == 0


async def test_float_models_are_read_without_scale_factors(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 113, 213]) as server:
        await server.set(113, W=4321.5, WH=987_654.0, DCW=4400.25, St=5)
        await server.set(
            213, W=812.5, WphA=400.0, WphB=212.5, WphC=200.0, AphA=1.75, AphB=0.92, AphC=0.87, Hz=49.98,
            TotWhImp=2_500_000.0, TotWhExp=100_000.0,
        )  # fmt: skip
        roles = {"inverter": "solar", "meter": "grid"}
        async with SunSpecConnector(energy_hub, [endpoint(server, **roles)]) as connector:
            assert await connector.poll(HOME, "grid")
    assert energy_hub.value(HOME, "solar", "power") == 4321.5
    assert energy_hub.value(HOME, "solar", "energy_total") == pytest.approx(987.654)
    assert energy_hub.value(HOME, "solar", "status") == "throttled"
    assert energy_hub.value(HOME, "grid", "power") == 812.5
    assert energy_hub.value(HOME, "grid", "current_l2") == pytest.approx(0.92)
    assert energy_hub.value(HOME, "grid", "import_energy") == 2500.0
    assert energy_hub.value(HOME, "grid", "voltage_l1") is None  # not implemented: not reported
    assert energy_hub.rejections.total == 0


@pytest.mark.parametrize("base", [40000, 50000, 0])
async def test_the_map_is_found_at_each_base_sunspec_allows(energy_hub: Hub, base: int) -> None:
    async with SunSpecServer([1, 203], base=base) as server:
        await server.set(203, W_SF=0, W=345)
        async with SunSpecConnector(energy_hub, [endpoint(server, meter="grid")]) as connector:
            assert await connector.poll(HOME, "grid")
            assert connector.models(HOME, "grid") == (1, 203)
    assert energy_hub.value(HOME, "grid", "power") == 345


async def test_an_unreachable_device_is_offline_logged_once_and_back_when_it_answers(
    energy_hub: Hub, availability: Availability, caplog: pytest.LogCaptureFixture
) -> None:
    server = SunSpecServer([1, 103, 203])
    async with server:
        await server.set(203, W_SF=0, W=100)
        roles = {"inverter": "solar", "meter": "grid"}
        # pymodbus' server leaves open connections silent when it stops: a short timeout
        async with SunSpecConnector(energy_hub, [endpoint(server, **roles)], timeout=0.5) as connector:
            assert await connector.poll(HOME, "grid")
            await server.stop()
            with caplog.at_level(logging.WARNING, logger="carhome.connectors.sunspec"):
                assert not await connector.poll(HOME, "grid")
                assert not await connector.poll(HOME, "solar")
            assert availability.last("grid") is False
            assert availability.last("solar") is False
            reason = connector.last_error(HOME, "grid")
            assert reason is not None
            assert "cannot connect" in reason
            offline = [r for r in caplog.records if "offline" in r.getMessage()]
            assert len(offline) == 1  # the same cause, logged once
            await server.start()
            await server.set(203, W=200)
            assert await connector.poll(HOME, "grid")
            assert connector.stats.poll_failures == 2
    assert availability.last("grid") is True
    assert energy_hub.value(HOME, "grid", "power") == 200
    assert energy_hub.rejections.total == 0  # being offline is not bad input


async def test_not_implemented_points_are_left_out_and_not_counted(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 203, 802]) as server:
        await server.set(203, W_SF=0, W=500, A_SF=-1, AphA=2.0, V_SF=-1, PhVphA=230.0, Hz_SF=-2, Hz=50.0)
        await server.set(802, SoC_SF=0, SoC=80, W_SF=0, W=300)
        roles = {"meter": "grid", "battery": "storage"}
        async with SunSpecConnector(energy_hub, [endpoint(server, **roles)]) as connector:
            assert await connector.poll(HOME, "grid")
            # Now the device says "not implemented" in each type's way: int16 0x8000,
            # uint16 0xFFFF, an unimplemented scale factor (which voids its points).
            await server.set_raw(203, W=-0x8000, Hz_SF=-0x8000)
            await server.set_raw(802, SoC=0xFFFF)
            assert await connector.poll(HOME, "grid")
    grid = values(energy_hub, "grid")
    assert grid["power"] == 500  # the last implemented value stands; nothing new was said
    assert grid["current_l1"] == 2.0
    assert energy_hub.value(HOME, "storage", "state_of_charge") == 80
    assert energy_hub.value(HOME, "storage", "power") == 300
    assert energy_hub.rejections.total == 0


async def test_a_scale_factor_out_of_range_is_rejected_counted_and_logged_once(
    energy_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    async with SunSpecServer([1, 203]) as server:
        await server.set(203, W_SF=0, W=500, Hz_SF=-2, Hz=50.0)
        async with SunSpecConnector(energy_hub, [endpoint(server, meter="grid")]) as connector:
            assert await connector.poll(HOME, "grid")
            await server.set_raw(203, W_SF=15, W=7, Hz=4999)
            with caplog.at_level(logging.WARNING, logger="carhome.rejected"):
                assert await connector.poll(HOME, "grid")
                assert await connector.poll(HOME, "grid")
    assert energy_hub.value(HOME, "grid", "power") == 500  # not 7e15
    assert energy_hub.value(HOME, "grid", "frequency") == 49.99  # its neighbours carry on
    assert energy_hub.rejections.counts["bad_scale_factor"] == 2
    [logged] = [r for r in caplog.records if "bad_scale_factor" in r.getMessage()]
    assert "W_SF is 15" in logged.getMessage()
    print(f"bad scale factors: rejected {energy_hub.rejections.counts['bad_scale_factor']} of 2, logged 1")


async def test_models_carhome_does_not_read_are_skipped_with_one_warning_each(
    energy_hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    vendor = {64999: [1, 2, 3, 4]}  # a vendor's own model: not defined by the SunSpec Alliance
    async with SunSpecServer([1, 120, 103], extra=vendor) as server:
        await server.set(103, W_SF=0, W=1000, WH_SF=0, WH=5000)
        with caplog.at_level(logging.WARNING, logger="carhome.connectors.sunspec"):
            async with SunSpecConnector(
                energy_hub, [endpoint(server, inverter="solar")], timeout=0.5
            ) as connector:
                assert await connector.poll(HOME, "solar")
                await server.stop()
                assert not await connector.poll(HOME, "solar")
                await server.start()
                assert await connector.poll(HOME, "solar")  # found the map again: no new warnings
                assert connector.models(HOME, "solar") == (1, 120, 103, 64999)
                assert connector.stats.skipped_models == 2
    skipped = [r.getMessage() for r in caplog.records if "skipping model" in r.getMessage()]
    assert len(skipped) == 2
    assert any("model 120" in m and "Nameplate" in m for m in skipped)
    assert any("model 64999" in m and "vendor's own" in m for m in skipped)
    assert energy_hub.value(HOME, "solar", "power") == 1000
    assert energy_hub.rejections.total == 0


async def test_a_status_carhome_has_no_word_for_is_rejected_and_the_rest_applies(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 103]) as server:
        await server.set(103, W_SF=0, W=800, St=99)
        async with SunSpecConnector(energy_hub, [endpoint(server, inverter="solar")]) as connector:
            assert connector.stats.polls == 1  # the first reading, as the connector starts
    assert energy_hub.value(HOME, "solar", "power") == 800
    assert energy_hub.value(HOME, "solar", "status") is None
    [rejected] = energy_hub.rejections.last
    assert (rejected.device, rejected.prop, rejected.code) == ("solar", "status", "not_mapped")
    assert "4 (producing)" in (rejected.allowed or "")


async def test_a_meter_mounted_the_other_way_is_flipped(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 203]) as server:
        await server.set(203, W_SF=0, W=900, WphA=900, TotWh_SF=0, TotWhImp=1000, TotWhExp=2000)
        config = SunSpecDeviceConfig(
            home=HOME, host="127.0.0.1", port=server.port, meter="grid", meter_reversed=True
        )
        async with SunSpecConnector(energy_hub, [config]) as connector:
            assert await connector.poll(HOME, "grid")
    assert values(energy_hub, "grid") == {
        "power": -900,
        "power_l1": -900,
        "import_energy": 2.0,
        "export_energy": 1.0,
    }


async def test_a_role_whose_model_the_device_lacks_is_offline_with_one_warning(
    energy_hub: Hub, availability: Availability, caplog: pytest.LogCaptureFixture
) -> None:
    async with SunSpecServer([1, 103]) as server:
        await server.set(103, W_SF=0, W=10)
        with caplog.at_level(logging.WARNING, logger="carhome.connectors.sunspec"):
            async with SunSpecConnector(
                energy_hub, [endpoint(server, inverter="solar", battery="storage")]
            ) as connector:
                assert await connector.poll(HOME, "solar")
                assert await connector.poll(HOME, "solar")
    assert availability.last("solar") is True
    assert availability.last("storage") is False
    [warning] = [r.getMessage() for r in caplog.records if "no battery model" in r.getMessage()]
    assert "802, 124, 713" in warning


async def test_a_device_without_a_sunspec_map_says_where_it_looked(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 203], base=1000) as server:  # no map at any base SunSpec allows
        async with SunSpecConnector(energy_hub, [endpoint(server, meter="grid")]) as connector:
            assert not await connector.poll(HOME, "grid")
            reason = connector.last_error(HOME, "grid")
        pinned = SunSpecDeviceConfig(home=HOME, host="127.0.0.1", port=server.port, meter="grid", base=1000)
        await server.set(203, W_SF=0, W=42)
        async with SunSpecConnector(energy_hub, [pinned]) as connector:
            assert await connector.poll(HOME, "grid")
    assert reason is not None
    assert "no SunSpec map ('SunS') at 40000, 50000, 0" in reason
    assert energy_hub.value(HOME, "grid", "power") == 42


async def test_the_battery_takes_each_value_from_the_first_model_that_has_it(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 124, 713, 802]) as server:
        await server.set(124, ChaState_SF=0, ChaState=40, ChaSt=3)
        await server.set(713, Pct_SF=0, SoC=41, WH_SF=2, WHRtg=13_500)
        await server.set(802, SoC_SF=0, SoC=42, W_SF=0, W=1800)
        async with SunSpecConnector(energy_hub, [endpoint(server, battery="storage")]) as connector:
            assert await connector.poll(HOME, "storage")
    assert values(energy_hub, "storage") == {
        "state_of_charge": 42,  # model 802 first
        "power": 1800,  # discharging
        "status": "discharging",  # 802 has none set: model 124's
        "capacity": 13.5,  # only model 713 rates it
    }


async def test_power_limit_is_written_to_model_123_and_read_back(energy_hub: Hub) -> None:
    async with SunSpecServer([1, 103, 123]) as server:
        await server.set(103, W_SF=0, W=5000)
        await server.set(123, WMaxLimPct_SF=-1, WMaxLimPct=100, WMaxLim_Ena=0)
        async with SunSpecConnector(energy_hub, [endpoint(server, inverter="solar")]) as connector:
            assert await connector.poll(HOME, "solar")
            assert energy_hub.value(HOME, "solar", "power_limit") == 100.0  # not throttled
            command = await energy_hub.submit(
                HOME, "solar", "set", "power_limit", {"value": 60}, member="owner", face="test"
            )
            done = await energy_hub.commands.wait(command.id)
            assert (await server.read_raw(123, "WMaxLimPct"), await server.read_raw(123, "WMaxLim_Ena")) == (
                600,
                1,
            )
            assert await connector.poll(HOME, "solar")
    assert done.status is CommandStatus.ACKED
    assert done.result == {"power_limit": 60.0}
    assert energy_hub.value(HOME, "solar", "power_limit") == 60.0
    assert energy_hub.state(HOME, "solar")["power_limit"].source == "sunspec"


async def test_power_limit_fails_with_the_reason_on_an_inverter_without_controls(energy_hub: Hub) -> None:
    async with (
        SunSpecServer([1, 103]) as server,
        SunSpecConnector(energy_hub, [endpoint(server, inverter="solar")]) as connector,
    ):
        command = await energy_hub.submit(
            HOME, "solar", "set", "power_limit", {"value": 50}, member="owner", face="test"
        )
        done = await energy_hub.commands.wait(command.id)
        assert connector.stats.failed == 1
    assert done.status is CommandStatus.FAILED
    assert done.error is not None
    assert "no SunSpec immediate controls (model 123)" in done.error
