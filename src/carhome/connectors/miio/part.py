"""The miIO connector as a part of the hub: the ``miio:`` section's Xiaomi devices, polled and commanded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.miio.config import MiioConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: MiioConfig) -> AbstractAsyncContextManager[object] | None:
    if not section.devices:
        return None
    from carhome.connectors.miio import MiioConnector  # noqa: PLC0415 - python-miio loads only when used

    return MiioConnector(
        context.hub,
        section.records(),
        poll_interval=section.poll_interval,
        timeout=section.timeout,
        clock=context.clock,
    )


PART: Final = SectionPart("miio", MiioConfig, _start)
