"""The KUKSA connector as a part of the hub: the ``kuksa:`` section's cars, served and followed.

Each car the section serves gets a KUKSA API of its own (bearer tokens of its home's
members, through the access seam: KUKSA serves every signal, the position too, so a guest
only with a grant showing it); each in-vehicle databroker the section names is followed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

from carhome.connectors.kuksa.config import KuksaConfig
from carhome.parts import Context, SectionPart
from carhome.parts.access import LOCATION


@contextlib.asynccontextmanager
async def _running(context: Context, section: KuksaConfig) -> AsyncIterator[object]:
    from carhome.connectors.kuksa import KuksaDatabrokerConnector, KuksaServer  # noqa: PLC0415 - grpc loads when used

    access = context.access
    async with contextlib.AsyncExitStack() as stack:
        for served in section.serve:

            def authenticate(
                token: str | None, home: str = served.home, car: str = served.device
            ) -> str | None:
                if token is None or access is None:
                    return None
                return access.reader(token, home, car, LOCATION)

            await stack.enter_async_context(
                KuksaServer(
                    context.hub,
                    home=served.home,
                    device=served.device,
                    host=served.host,
                    port=served.port,
                    authenticate=authenticate,
                    providers=served.providers,
                    command_ttl=section.command_ttl,
                )
            )
        for broker in section.databrokers:
            await stack.enter_async_context(
                KuksaDatabrokerConnector(
                    context.hub,
                    broker.url,
                    home=broker.home,
                    device=broker.device,
                    paths=broker.paths,
                    token=broker.token,
                )
            )
        yield None


PART: Final = SectionPart("kuksa", KuksaConfig, _running)
