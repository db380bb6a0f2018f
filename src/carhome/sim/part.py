"""The simulator as a part of the hub: the ``sim:`` section's homes, their devices played.

Each simulated home adds its destinations (work, the supermarket) to the home's places; its
devices connect to the hub's broker (``BROKER``) each with its own identity, its wallbox to
the OCPP server as a charger (``OCPP``, when charging provides one). Each device keeps the
commands it executed, and the key store of one that verifies signatures, under
``devices/`` in the data directory. What a device's screen shows is offered as ``SCREENS``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from carhome.clock import Clock
from carhome.hub import Home
from carhome.mqtt.credentials import Credentials
from carhome.parts import Context
from carhome.parts.keys import BROKER, OCPP, SCREENS, OcppLinks
from carhome.sim.config import SimConfig
from carhome.sim.device import SimBase
from carhome.sim.runner import LinkFactory, SimRunner
from carhome.sim.wallbox import SimWallbox, ocpp_wallbox_link
from carhome.sim.world import SimHome


@dataclass(frozen=True)
class SimPart:
    name: str = "sim"
    section: type[SimConfig] = SimConfig

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: SimConfig | None) -> AsyncIterator[dict[str, SimHome]]:
        homes = sim_homes(context.hub.homes(), section or SimConfig())
        if not homes:
            yield homes
            return
        for sim in homes.values():
            await context.hub.add_home(with_places(context.hub.home(sim.home.id), sim))
        context.provide(SCREENS, lambda home, device: _screen(homes, home, device))
        broker = context.need(BROKER)
        ocpp = context.want(OCPP)
        credentials = (
            None
            if broker.identities is None
            else await asyncio.to_thread(Credentials.load, broker.identities)
        )
        async with contextlib.AsyncExitStack() as stack:
            for sim in homes.values():
                if context.data is not None:  # keys fsynced: off the loop
                    await asyncio.to_thread(_secure, sim, context.data / "devices", context.clock)
                await stack.enter_async_context(
                    SimRunner(
                        sim,
                        broker.url,
                        clock=context.clock,
                        device_links=_ocpp_links(sim, ocpp, context.clock),
                        credentials=credentials,
                    )
                )
            yield homes


PART: Final = SimPart()


def sim_homes(homes: list[Home], section: SimConfig) -> dict[str, SimHome]:
    """The homes ``section`` simulates (each seeded by its place in ``homes``)."""
    if not section.enabled:
        return {}
    wanted = set(section.homes) or {h.id for h in homes}
    sims = {h.id: SimHome(h, seed=index) for index, h in enumerate(homes) if h.id in wanted}
    if not section.routine:
        for sim in sims.values():
            if sim.scenario is not None:
                sim.scenario.trips = ()  # nobody drives off; the car is still plugged in at home
    return sims


def with_places(home: Home, sim: SimHome) -> Home:
    """Add the simulator's destinations (work, supermarket) to the home's geofences."""
    known = {p.name for p in home.places}
    extra = tuple(p for p in sim.places() if p.name not in known)
    if not extra:
        return home
    return msgspec.structs.replace(home, places=(*home.places, *extra))


def _ocpp_links(sim: SimHome, ocpp: OcppLinks | None, clock: Clock) -> dict[str, LinkFactory]:
    """Links that play ``sim``'s OCPP wallboxes as chargers of the hub's OCPP server."""
    links: dict[str, LinkFactory] = {}
    if ocpp is None:
        return links
    for device_id, device in sim.devices.items():
        login = ocpp.logins.get((sim.home.id, device_id))
        if login is not None and isinstance(device, SimWallbox):
            charger_id, password = login
            links[device_id] = ocpp_wallbox_link(device, ocpp.url, charger_id, password=password, clock=clock)
    return links


def _screen(homes: dict[str, SimHome], home: str, device: str) -> str | None:
    """What a simulated device's screen shows (its enrollment code), for the hub's local screen."""
    sim = homes.get(home)
    found = sim.devices.get(device) if sim is not None else None
    return found.screen if isinstance(found, SimBase) else None


def _secure(sim: SimHome, directory: Path, clock: Clock) -> None:
    """Give each simulated device its directory — the commands it executed are kept there, so
    a restart never runs one twice — and each that verifies signatures its key store there
    (both kept across runs)."""
    for device_id, device in sim.devices.items():
        if isinstance(device, SimBase):
            where = directory / sim.home.id / device_id
            device.keep_in(where)
            if device.verifies:
                device.secure(where, home=sim.home.id, device=device_id, clock=clock)
