"""Access control as the first part of the hub: members, tokens, the policy, delegates and keys.

It opens access control over the data directory and hands it to the parts after it as the
context's access seam; it guards the hub's commands (the policy's gatekeeper behind the
delegation gate that signs delegated commands, the queued commands of revoked members
withdrawn), records the chargers an owner trusts unsigned, and serves the key routes. The
process may make the hub's owner (``OWNER``, the demo's); a hub still without members gets
a first run with its one-time setup code (``FIRST_RUN``). Key asks reach each device through
the connector that offers itself on ``KEY_RELAY``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from starlette.requests import Request

from carhome.access.config import AccessConfig
from carhome.access.delegates import (
    DelegateKeys,
    Delegates,
    DelegateSigner,
    DelegationGate,
    FileDelegateKeys,
)
from carhome.access.firstrun import FirstRun
from carhome.access.keyroutes import key_routes
from carhome.access.postgres_delegates import PostgresDelegateKeys
from carhome.access.service import Access
from carhome.errors import ConfigError
from carhome.http import problems
from carhome.http.principals import principal_of
from carhome.hub import Hub
from carhome.parts import Context, DefaultedPart, Key
from carhome.parts.keys import KEY_RELAY, POSTGRES, SCREENS
from carhome.signing.relay import ByConnector
from carhome.spec.devices import CHARGING

OWNER: Final[Key[Callable[[Access], Awaitable[object]]]] = Key("owner")
"""Makes the hub's owner before anything runs (provided by the process: the demo's)."""
ACCESS: Final[Key[Access]] = Key("access")
"""Access control itself, for the first run's routes (provided by access control)."""
FIRST_RUN: Final[Key[FirstRun]] = Key("first run")
"""The setup code of a hub without members (provided by access control, only then)."""


@contextlib.asynccontextmanager
async def _running(context: Context, section: AccessConfig) -> AsyncIterator[Access]:
    if context.data is None:
        raise ConfigError("access control keeps its members in a data directory; give one")
    hub, clock = context.hub, context.clock
    signatures, ttl = section.require_signatures, section.access_token_minutes * 60
    postgres = context.want(POSTGRES)  # the hub's store on PostgreSQL: access control keeps all there
    async with Access.open(
        context.data, clock, require_signatures=signatures, access_ttl=ttl, postgres=postgres
    ) as access:
        owner = context.want(OWNER)
        if owner is not None:
            await owner(access)
        first_run = FirstRun.begin(access.members, access.passwords, access.throttle)
        if first_run is not None:
            context.provide(FIRST_RUN, first_run)
        await _guard(access, hub, section)
        relay = ByConnector(hub)  # key sessions reach a device by its connector
        context.provide(KEY_RELAY, relay)
        trusted = access.gatekeeper.trusts_unsigned
        # Automations and the charging controller get a safety-critical command signed,
        # before it is submitted, only with a delegate key an owner enrolled for that
        # domain on that device; the gatekeeper then decides on it like on any other.
        delegates = Delegates(await _delegate_keys(context), relay, clock)
        before = hub.commands.gatekeeper, hub.commands.signer
        hub.commands.signer = DelegateSigner(delegates, unsigned=trusted)
        hub.commands.gatekeeper = DelegationGate(access.gatekeeper, unsigned=trusted)
        context.access = access
        context.provide(ACCESS, access)

        def screen(home: str, device: str) -> str | None:
            screens = context.want(SCREENS)  # the simulator's, started later
            return None if screens is None else screens(home, device)

        context.routes.extend(
            key_routes(
                hub,
                relay,
                who=_member_of_home,
                authorize=lambda m, h: access.gatekeeper.authorize(
                    member=m, home=h, face="api", operation="enroll_keys"
                ),
                screen=screen,
                delegates=delegates,
                audit=access.audit,
            )
        )
        try:
            yield access
        finally:
            context.access = None
            hub.commands.gatekeeper, hub.commands.signer = before  # none decided by a closed one


PART: Final = DefaultedPart("access", AccessConfig, _running)


async def _guard(access: Access, hub: Hub, section: AccessConfig) -> None:
    """Access over the hub's commands, and the chargers an owner trusts for charging
    without signatures (each choice on record)."""
    access.guard(hub.commands)
    homes = hub.homes()
    for entry in section.unsigned_charging:
        home = entry.home or homes[0].id
        decision = await access.gatekeeper.trust_unsigned(
            home=home, device=entry.device, domain=CHARGING, owner=entry.owner
        )
        if not decision.allowed:
            raise ConfigError(
                f"access.unsigned_charging: {home}/{entry.device} is not trusted: {decision.reason};"
                " name an owner of that home"
            )


async def _delegate_keys(context: Context) -> DelegateKeys:
    """The delegate keys in the hub's PostgreSQL database when its store is one, else in
    ``<data>/delegates``."""
    postgres = context.want(POSTGRES)
    if postgres is not None:
        keys = PostgresDelegateKeys(postgres)
        await keys.open()
        return keys
    assert context.data is not None  # checked when access control opened
    return FileDelegateKeys(context.data / "delegates")


def _member_of_home(request: Request) -> str:
    """The member a key request acts for; a home they are not in is not there for them."""
    principal = principal_of(request)
    home = request.path_params.get("home")
    if home is not None and not principal.sees(home):
        raise problems.unknown_home(home, [principal.home] if principal.home else [])
    return principal.member
