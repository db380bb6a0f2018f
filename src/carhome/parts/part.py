"""The shape of a part (``Part``), what it is given (``Context``) and where its routes go (``RouteSink``).

A part is started with ``async with part.start(context, section):`` and runs until that
block is left; what it offers the parts started after it goes through the context's typed
registry: ``context.provide(KEY, value)`` and ``context.need(KEY)``, where ``KEY`` is a
``Key[T]`` declared beside the type it carries, so what a part gets is typed and no part
imports another. A key nobody provided is a ``ConfigError`` at start that names the part
that needs it. HTTP routes a part serves are declared beside it (``carhome.http``) and handed
to the ``RouteSink``, which the API part serves and the OpenAPI description lists.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from starlette.routing import BaseRoute

from carhome.clock import Clock
from carhome.errors import ConfigError
from carhome.http.operations import Operation, routes
from carhome.hub import Hub
from carhome.parts.access import AccessControl

_T = TypeVar("_T")
_H = TypeVar("_H")
_S = TypeVar("_S")


class Key(Generic[_T]):
    """A typed name for something one part provides others (``Key[BrokerLogins]("broker")``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


@dataclass
class RouteSink:
    """The HTTP routes the parts serve, and the operations they declare (for the description)."""

    routes: list[BaseRoute] = field(default_factory=list)
    operations: list[Operation[Any]] = field(default_factory=list)

    def add(self, operations: Iterable[Operation[_H]], handlers: _H) -> None:
        """Serve ``operations`` by ``handlers``; they are listed in the OpenAPI description."""
        declared = tuple(operations)
        self.operations.extend(declared)
        self.routes.extend(routes(declared, handlers))

    def extend(self, served: Iterable[BaseRoute]) -> None:
        """Serve routes that are operations declared elsewhere (already listed) or not under ``/api/``."""
        self.routes.extend(served)


@dataclass
class Context:
    """What every part is started with."""

    hub: Hub
    clock: Clock
    data: Path | None
    """The data directory (None: a hub that keeps nothing on disk, as in tests)."""
    routes: RouteSink = field(default_factory=RouteSink)
    access: AccessControl | None = None
    """The access seam (None: a hub without access control, as in tests)."""
    health: list[Callable[[], str | None]] = field(default_factory=list)
    """What a part says is wrong with it now (or None), asked on every ``/api/health``."""
    part: str = ""
    """The part being started, named in the errors of ``need``."""
    _provided: dict[str, tuple[str, object]] = field(default_factory=dict)

    def provide(self, key: Key[_T], value: _T) -> None:
        """Offer ``value`` under ``key`` to the parts started later."""
        if key.name in self._provided:
            by, _ = self._provided[key.name]
            raise ConfigError(f"{self.part or 'a part'} provides {key.name!r}, which {by} provides already")
        self._provided[key.name] = (self.part, value)

    def want(self, key: Key[_T]) -> _T | None:
        """What a part provided under ``key``, or None when no part did."""
        found = self._provided.get(key.name)
        return None if found is None else found[1]  # type: ignore[return-value] # typed by the key

    def need(self, key: Key[_T]) -> _T:
        """What a part provided under ``key``; a ``ConfigError`` naming the part that needs it
        when none did."""
        found = self.want(key)
        if found is None:
            raise ConfigError(
                f"part {self.part or '?'} needs {key.name!r}, which no part started before it provides;"
                " add the part that provides it to the configuration, before this one"
            )
        return found


class Part(Protocol[_S]):
    """One connector or service of the hub: its name, its config section and how it runs."""

    @property
    def name(self) -> str:
        """The part's name, its config section's key."""
        ...

    @property
    def section(self) -> type[_S] | None:
        """The msgspec struct of its config section (None: it takes none)."""
        ...

    def start(self, context: Context, section: _S | None) -> AbstractAsyncContextManager[object]:
        """Run the part while the block is entered; ``section`` None when it is not configured."""
        ...


@dataclass(frozen=True)
class SectionPart(Generic[_S]):
    """A part that runs one async context manager made from its section, or nothing when its
    section is absent (or ``make`` answers None: configured, but nothing to run)."""

    name: str
    section: type[_S]
    make: Callable[[Context, _S], AbstractAsyncContextManager[object] | None]

    @contextlib.asynccontextmanager
    async def start(self, context: Context, section: _S | None) -> AsyncIterator[object]:
        running = None if section is None else self.make(context, section)
        if running is None:
            yield None
            return
        async with running as started:
            yield started


@dataclass(frozen=True)
class ServicePart:
    """A part without a config section: one async context manager made from the context."""

    name: str
    make: Callable[[Context], AbstractAsyncContextManager[object]]
    section: None = None

    def start(self, context: Context, section: object | None) -> AbstractAsyncContextManager[object]:
        return self.make(context)


@dataclass(frozen=True)
class DefaultedPart(Generic[_S]):
    """A part that always runs: with its section, or with the section's defaults when the
    configuration leaves it out."""

    name: str
    section: type[_S]
    make: Callable[[Context, _S], AbstractAsyncContextManager[object]]

    def start(self, context: Context, section: _S | None) -> AbstractAsyncContextManager[object]:
        return self.make(context, section if section is not None else self.section())
