"""The Home Assistant bridge as a part of the hub: the ``homeassistant:`` section, over the hub's broker.

It needs the broker's URL and the bridge's own login (``carhome.parts.keys.BROKER``): the
built-in broker makes one, an external broker takes the section's.
"""

from __future__ import annotations

from typing import Final

from carhome.connectors.homeassistant.bridge import HomeAssistantBridge
from carhome.connectors.homeassistant.config import HomeAssistantConfig
from carhome.parts import Context, SectionPart
from carhome.parts.keys import BROKER


def _start(context: Context, section: HomeAssistantConfig) -> HomeAssistantBridge | None:
    broker = context.need(BROKER)
    if broker.bridge is None:
        return None
    return HomeAssistantBridge(
        context.hub,
        broker.url,
        member=section.member,
        discovery_prefix=section.discovery_prefix,
        bridge_id=section.bridge_id,
        username=broker.bridge[0],
        password=broker.bridge[1],
    )


PART: Final = SectionPart("homeassistant", HomeAssistantConfig, _start)
