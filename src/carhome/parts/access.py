"""The access seam: what the API and the other parts need of access control, as a protocol.

Access control (``carhome.access.service.Access``) implements it; the API part
authenticates through it and mounts its login and member routes, the live WebSocket hears
revocations through it, and the automations routes ask it before a change and put the change
on record. No part imports ``carhome.access`` for that: the composition hands the one
``AccessControl`` over in the ``Context``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from starlette.routing import BaseRoute

from carhome.http.operations import Operation
from carhome.http.principals import Authenticator
from carhome.hub import Decision

LOCATION: Final = "location"
"""A grant target that shows where its devices are: a car's or a phone's position, and the
places of a car's trips and charges. ``*`` does not: a guest sees a location only when a
live grant names it (or names the location property itself)."""
MANAGE_AUTOMATIONS: Final = "manage_automations"
"""The administrative operation of changing a home's automations (the policy's scope)."""


class Revocation(Protocol):
    """A session (or, with ``session`` None, every session of ``member``) that ended."""

    @property
    def member(self) -> str: ...

    @property
    def session(self) -> str | None: ...

    @property
    def reason(self) -> str: ...


class AccessControl(Protocol):
    """Members, tokens, the policy's administrative decisions and the audit log of one hub."""

    def authenticator(self) -> Authenticator:
        """Who a request acts for and what they may read (bearer tokens)."""
        ...

    def http_routes(self) -> list[BaseRoute]:
        """Logging in, renewing and ending sessions, and managing members."""
        ...

    def operations(self) -> tuple[Operation[Any], ...]:
        """The operations of ``http_routes``, for the description."""
        ...

    def on_revoke(self, listener: Callable[[Revocation], None]) -> Callable[[], None]:
        """Call ``listener`` with each session that ends; the answer stops it."""
        ...

    async def authorize(self, *, member: str, home: str, face: str, operation: str) -> Decision:
        """Decide an administrative ``operation`` (``MANAGE_AUTOMATIONS`` …), audited."""
        ...

    async def record(
        self, *, home: str, member: str, face: str, command: str, device: str, target: str, decision: Decision
    ) -> object:
        """Put a change on the audit record, beside the decision that allowed it."""
        ...

    def home_of(self, member: str) -> str | None:
        """The home of a member, or None for no such member."""
        ...

    def reader(self, token: str, home: str, device: str, prop: str) -> str | None:
        """The member an access ``token`` is of, when they are of ``home`` and may read
        ``prop`` of ``device`` now (a guest only with a grant naming it); else None."""
        ...

    def owns(self, home: str, member: str) -> bool:
        """Whether ``member`` is an owner of ``home`` now (not revoked)."""
        ...
