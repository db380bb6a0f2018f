"""The Tesla connector as a part of the hub: the ``tesla:`` section's cars, read from fleet-telemetry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carhome.connectors.tesla.config import TeslaConfig
from carhome.parts import Context, SectionPart

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager


def _start(context: Context, section: TeslaConfig) -> AbstractAsyncContextManager[object] | None:
    from carhome.connectors.tesla import TeslaTelemetryConnector  # noqa: PLC0415 - loads only when used

    return TeslaTelemetryConnector(context.hub, section)


PART: Final = SectionPart("tesla", TeslaConfig, _start)
