"""The demo's charging: its wallbox as an OCPP charger and its car charged by a smart plan.

``demo_charging`` makes the ``ocpp:`` and ``charging:`` sections of the demo home: the
wallbox an OCPP charger with a fresh password (the simulated wallbox learns it from the OCPP
part's logins), and the car charged on a Beijing time-of-use tariff.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from carhome.compose.config import DeviceConfig
from carhome.connectors.ocpp.config import OcppChargerConfig, OcppConfig
from carhome.energy.config import ChargingConfig, DepartureConfig, TariffConfig, TouWindowConfig
from carhome.hub import Home

DEMO_CHARGER_ID: Final = "yizhuang-garage"
DEMO_TAG: Final = "carhome-sim"

# Beijing's time-of-use shape (peak 10–15 and 18–21, flat 7–10, 15–18 and 21–23, valley
# 23–7), at plausible residential EV prices in CNY/kWh.
BEIJING_TOU: Final = (
    TouWindowConfig(start="23:00", end="07:00", price=0.30),
    TouWindowConfig(start="07:00", end="10:00", price=0.65),
    TouWindowConfig(start="10:00", end="15:00", price=1.05),
    TouWindowConfig(start="15:00", end="18:00", price=0.65),
    TouWindowConfig(start="18:00", end="21:00", price=1.05),
    TouWindowConfig(start="21:00", end="23:00", price=0.65),
)


@dataclass(frozen=True, slots=True)
class DemoCharging:
    devices: tuple[DeviceConfig, ...]
    ocpp: OcppConfig
    charging: tuple[ChargingConfig, ...]


def demo_charging(home: Home, devices: tuple[DeviceConfig, ...], *, ocpp_port: int = 0) -> DemoCharging:
    """The demo home's wallbox as an OCPP charger, and its car charged by a smart plan.

    The charger's password is made fresh for each run: the simulated wallbox is in the
    same process and learns it from the server's logins.
    """
    wallbox = next(d for d in devices if d.type == "wallbox")
    car = next(d for d in devices if d.type == "car")
    devices = tuple(
        DeviceConfig(id=d.id, type=d.type, name=d.name, room=d.room, connector="ocpp") if d is wallbox else d
        for d in devices
    )
    ocpp = OcppConfig(
        host="127.0.0.1",
        port=ocpp_port,
        chargers={
            DEMO_CHARGER_ID: OcppChargerConfig(
                home=home.id, device=wallbox.id, password=secrets.token_urlsafe(24)
            )
        },
        id_tokens={DEMO_TAG: "owner"},  # the tag the simulated wallbox opens its sessions with
    )
    charging = ChargingConfig(
        home=home.id,
        car=car.id,
        member="owner",
        charger=wallbox.id,
        mode="smart",
        target=80.0,
        departure=DepartureConfig(weekly={"weekdays": "08:00"}),
        tariff=TariffConfig(time_of_use=BEIJING_TOU),
        capacity_kwh=75.0,
        efficiency=0.91,
        min_current=6.0,
        max_current=32.0,
        phases=1,
        voltage=220.0,
        pause="car",  # the wallbox opens its session at plug-in; the car pauses and resumes
    )
    return DemoCharging(devices=devices, ocpp=ocpp, charging=(charging,))
