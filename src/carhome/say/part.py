"""Say as a part of the hub: spoken commands and questions, answered through the say route."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from carhome.parts import Context
from carhome.say.routes import OPERATIONS, SayRoutes


@dataclass(frozen=True)
class SayPart:
    name: str = "say"
    section: None = None

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: object | None) -> AsyncIterator[None]:
        context.routes.add(OPERATIONS, SayRoutes(context.hub))
        yield


PART: Final = SayPart()
