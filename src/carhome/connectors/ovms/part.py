"""The OVMS connector as a part of the hub: the ``ovms:`` section's cars, through their OVMS modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.ovms.config import OvmsConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: OvmsConfig) -> AbstractAsyncContextManager[object] | None:
    from carhome.connectors.ovms import OvmsConnector  # noqa: PLC0415 - loads only when used

    return OvmsConnector(context.hub, section)


PART: Final = SectionPart("ovms", OvmsConfig, _start)
