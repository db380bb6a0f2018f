"""The Shelly connector as a part of the hub: the ``shelly:`` section's Gen2 meters and relays over MQTT."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.shelly.config import ShellyConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: ShellyConfig) -> AbstractAsyncContextManager[object] | None:
    if not section.devices:
        return None
    from carhome.connectors.shelly import ShellyConnector  # noqa: PLC0415 - loads only when used

    return ShellyConnector(
        context.hub,
        section.url,
        section.devices,
        username=section.username,
        password=section.password,
        client_id=section.client_id,
        timeout=section.timeout,
        clock=context.clock,
    )


PART: Final = SectionPart("shelly", ShellyConfig, _start)
