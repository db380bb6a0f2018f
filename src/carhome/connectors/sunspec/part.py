"""The SunSpec connector as a part of the hub: the ``sunspec:`` section's inverters, meters and batteries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.sunspec.config import SunSpecConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: SunSpecConfig) -> AbstractAsyncContextManager[object] | None:
    if not section.devices:
        return None
    from carhome.connectors.sunspec import SunSpecConnector  # noqa: PLC0415 - pymodbus loads only when used

    return SunSpecConnector(
        context.hub,
        section.devices,
        poll_interval=section.poll_interval,
        timeout=section.timeout,
        clock=context.clock,
    )


PART: Final = SectionPart("sunspec", SunSpecConfig, _start)
