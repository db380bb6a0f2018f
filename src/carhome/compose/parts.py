"""The parts a hub runs, in order, and the loop that runs them: ``compose``.

``compose(parts, config, context)`` starts each part in turn with its section of the
configuration (``config.<part name>``, or None when the section is absent) over one
``Context``, and stops them in the reverse order when its block is left. A part started
later may need what one started before provided (``Context.need``); the order of
``hub_parts`` is that order. Adding a part is adding it here: no other part changes. Each
part with a section has the field of ``Config`` named after it, of its section's type.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

from carhome.access.part import PART as ACCESS
from carhome.api.part import PART as API
from carhome.automations.part import PART as AUTOMATIONS
from carhome.compose.config import Config
from carhome.compose.setup import setup_part
from carhome.connectors.homeassistant.part import PART as HOMEASSISTANT
from carhome.connectors.kuksa.part import PART as KUKSA
from carhome.connectors.miio.part import PART as MIIO
from carhome.connectors.mqtt.part import PART as MQTT
from carhome.connectors.ocpp.part import PART as OCPP
from carhome.connectors.ovms.part import PART as OVMS
from carhome.connectors.shelly.part import PART as SHELLY
from carhome.connectors.sunspec.part import PART as SUNSPEC
from carhome.connectors.tesla.part import PART as TESLA
from carhome.connectors.zigbee2mqtt.part import PART as ZIGBEE2MQTT
from carhome.energy.part import CHARGING_PART as CHARGING
from carhome.energy.part import ENERGY_PART as ENERGY
from carhome.errors import ConfigError
from carhome.history.part import PART as HISTORY
from carhome.parts import Context, Part
from carhome.say.part import PART as SAY
from carhome.sim.part import PART as SIM

CONNECTOR_PARTS: Final[tuple[Part[Any], ...]] = (
    # the devices on the home's network
    MIIO,
    SUNSPEC,
    SHELLY,
    # the cars' own links: KUKSA both ways, OVMS modules, Teslas through fleet-telemetry
    KUKSA,
    OVMS,
    TESLA,
    # a Zigbee bridge's devices (button presses are events on the hub's bus)
    ZIGBEE2MQTT,
    # the homes in Home Assistant, over the hub's broker
    HOMEASSISTANT,
)
"""The connectors each started from its own section, in the order a hub starts them."""

CHARGING_PARTS: Final[tuple[Part[Any], ...]] = (
    OCPP,  # the OCPP central system: chargers connect to it
    ENERGY,  # each home's energy entry, for charging
    CHARGING,  # a controller per charged car; provides the homes' tariffs and the chargers' cars
)
"""Charging: the OCPP server and the charging controllers, started after the connectors."""

SERVICE_PARTS: Final[tuple[Part[Any], ...]] = (
    HISTORY,  # needs the hub's database; prices charges with the homes' tariffs
    SAY,
)
"""The services started after charging, each serving its routes through the route sink."""


def hub_parts(config: Config) -> tuple[Part[Any], ...]:
    """Every part of a hub, in the order they start: what a part needs, one before it provides."""
    return (
        ACCESS,  # first: the access seam and the hub's gatekeeper, before any command
        MQTT,  # the broker and the MQTT connector: BROKER for every MQTT-speaking part
        AUTOMATIONS,
        *CONNECTOR_PARTS,
        *CHARGING_PARTS,  # OCPP for the simulator; TARIFFS and CHARGER_CARS for history
        setup_part(config),  # the first run's routes: where devices connect, the homes' prices
        *SERVICE_PARTS,
        API,  # after every part that hands it routes
        SIM,  # last: its devices connect to the running hub
    )


__all__ = ["CHARGING_PARTS", "CONNECTOR_PARTS", "SERVICE_PARTS", "compose", "hub_parts", "section_of"]


def section_of(part: Part[Any], config: Config) -> object | None:
    """``part``'s section of ``config`` (None when absent), checked to be of the part's type."""
    section = getattr(config, part.name, None)
    if section is not None and part.section is not None and not isinstance(section, part.section):
        raise ConfigError(
            f"the {part.name!r} section is a {type(section).__name__}, not the part's {part.section.__name__}"
        )
    return section


@contextlib.asynccontextmanager
async def compose(parts: Sequence[Part[Any]], config: Config, context: Context) -> AsyncIterator[Context]:
    """Run ``parts`` in order over ``context`` while the block runs; stop them in reverse."""
    async with contextlib.AsyncExitStack() as stack:
        for part in parts:
            context.part = part.name
            await stack.enter_async_context(part.start(context, section_of(part, config)))
        context.part = ""
        yield context
