"""A hub's first run over the API: its first owner, its home, and how first devices connect.

``GET /api/setup`` (open) says whether the hub waits for its first owner; ``POST
/api/setup/owner`` (open) makes that owner with the one-time setup code the hub printed on
its terminal (``carhome.access.firstrun``: once, only while there is no member, compared
in constant time, throttled like logins) and answers with the owner's tokens, so the web
app and the CLI go on logged in. Once the hub has an owner both answer 409.

Then, as the owner: ``GET``/``PUT /api/setup/home`` shows and sets the home's name, place,
time zone and price. A home the configuration file holds is the file's to change: the
step shows it read-only and a ``PUT`` answers 409. Any other home is kept in the hub's
store (``Hub.add_home``) and its price beside it (``carhome.energy.homeprices``).
``GET /api/setup/devices`` says how devices reach this hub, from its running settings.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.access.firstrun import FirstRun, SetupRefused
from carhome.access.members import MemberError
from carhome.access.part import ACCESS, FIRST_RUN
from carhome.access.passwords import WeakPassword
from carhome.access.service import Access
from carhome.compose.config import Config, redacted
from carhome.energy.homeprices import HomePrices
from carhome.errors import InvalidName
from carhome.http.bodies import decode_body, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import Principal, client_address, principal_of
from carhome.http.problems import Problem
from carhome.hub import Home, Hub
from carhome.parts import Context, ServicePart
from carhome.parts.keys import BROKER, OCPP
from carhome.wire.auth import Tokens
from carhome.wire.setup import (
    ChargerHint,
    DeviceHints,
    FirstOwner,
    HomeSettings,
    HomeSetup,
    SetupStatus,
    TariffKind,
)

MAX_BODY: Final = 4096
DEFAULT_HOME: Final = "home"


@dataclass(frozen=True, slots=True)
class SetupFacts:
    """What the setup step tells from the running hub's settings.

    ``configured`` maps each home of the configuration file to the kind of its tariff;
    ``ocpp_url`` is the URL chargers connect to, ``{charger}`` standing for the charger id
    (None without an OCPP central system); ``chargers`` are the configured ones as (charger
    id, home, device)."""

    configured: Mapping[str, TariffKind] = field(default_factory=dict)
    prices: HomePrices | None = None
    mqtt_url: str = ""
    builtin_broker: bool = True
    ocpp_url: str | None = None
    chargers: tuple[tuple[str, str, str], ...] = ()


def setup_done() -> Problem:
    return Problem(
        409,
        "setup-done",
        "Setup is done",
        "this hub has its owner already; log in (`carhome login MEMBER` or the web app's login page)",
    )


def _refused(exc: SetupRefused) -> Problem:
    if exc.reason == "done":
        return setup_done()
    if exc.reason == "throttled":
        problem = Problem(
            429, "throttled", "Too many setup attempts", str(exc), retry_after=round(exc.retry_after)
        )
        problem.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return problem
    return Problem(
        403,
        "wrong-setup-code",
        "Wrong setup code",
        "the setup code is wrong; copy it from the terminal that started the hub"
        " (or open the link printed there)",
        field="code",
    )


class SetupRoutes:
    """The first owner, the home step and the device hints of one hub."""

    def __init__(self, hub: Hub, access: Access, first_run: FirstRun | None, facts: SetupFacts) -> None:
        self._hub = hub
        self._access = access
        self._first_run = first_run
        self._facts = facts

    def _needs_owner(self) -> bool:
        return self._first_run is not None and self._first_run.needed

    async def status(self, request: Request) -> Response:
        return json_response(SetupStatus(self._needs_owner()), headers={"Cache-Control": "no-store"})

    async def owner(self, request: Request) -> Response:
        if self._first_run is None or not self._first_run.needed:
            raise setup_done()
        body = await decode_body(request, FirstOwner, limit=MAX_BODY)
        homes = self._hub.homes()
        home = body.home or (homes[0].id if homes else DEFAULT_HOME)
        try:
            member = await self._first_run.create_owner(
                code=body.code,
                member=body.member.strip(),
                name=body.name,
                password=body.password,
                home=home,
                address=client_address(request),
            )
        except SetupRefused as exc:
            raise _refused(exc) from None
        except WeakPassword as exc:
            raise Problem(422, "invalid-owner", "Invalid owner", str(exc), field="password") from None
        except (InvalidName, MemberError) as exc:
            where = "home" if body.home is not None and "home" in str(exc) else "member"
            raise Problem(422, "invalid-owner", "Invalid owner", str(exc), field=where) from None
        pair = await self._access.tokens.open_session(member)
        claims = self._access.tokens.check(pair.access)
        tokens = Tokens(pair.access, pair.refresh, "Bearer", pair.expires, claims.member, claims.home)
        return json_response(tokens, 201, headers={"Cache-Control": "no-store"})

    def _owner_of_home(self, request: Request) -> tuple[Principal, str]:
        principal = principal_of(request)
        if principal.role != "owner" or principal.home is None:
            raise Problem(
                403, "forbidden", "Forbidden", "only an owner of the home sets it up", member=principal.member
            )
        return principal, principal.home

    def _home_setup(self, home_id: str) -> HomeSetup:
        configured = self._facts.configured.get(home_id)
        price = (
            None if configured is not None or self._facts.prices is None else self._facts.prices.get(home_id)
        )
        tariff: TariffKind = (
            configured if configured is not None else ("fixed" if price is not None else "none")
        )
        found = next((h for h in self._hub.homes() if h.id == home_id), None)
        return HomeSetup(
            id=home_id,
            name=found.name if found else "",
            lat=found.lat if found else None,
            lon=found.lon if found else None,
            timezone=found.timezone if found else "UTC",
            tariff=tariff,
            price=price,
            in_config=configured is not None,
            exists=found is not None,
        )

    async def home(self, request: Request) -> Response:
        _, home = self._owner_of_home(request)
        return json_response(self._home_setup(home))

    async def set_home(self, request: Request) -> Response:
        _, home_id = self._owner_of_home(request)
        body = await decode_body(request, HomeSettings, limit=MAX_BODY)
        if home_id in self._facts.configured:
            raise Problem(
                409,
                "home-in-config",
                "The home is in the configuration file",
                f"home {home_id!r} is set in the configuration file: change it there and restart the hub",
                home=home_id,
            )
        if body.timezone not in zoneinfo.available_timezones():
            raise Problem(
                422,
                "invalid-body",
                "Invalid request body",
                f"{body.timezone!r} is not an IANA time zone name (like Europe/Berlin or Asia/Shanghai)",
                field="$.timezone",
            )
        found = next((h for h in self._hub.homes() if h.id == home_id), None)
        name = body.name.strip()
        if found is None:
            record = Home(id=home_id, name=name, lat=body.lat, lon=body.lon, timezone=body.timezone)
        else:
            record = msgspec.structs.replace(
                found, name=name, lat=body.lat, lon=body.lon, timezone=body.timezone
            )
        await self._hub.add_home(record)
        if self._facts.prices is not None:
            self._facts.prices.put(home_id, body.price)
        return json_response(self._home_setup(home_id))

    async def devices(self, request: Request) -> Response:
        principal = principal_of(request)
        if not principal.may_change_settings or principal.home is None:
            raise Problem(
                403, "forbidden", "Forbidden", "owners and family set up devices", member=principal.member
            )
        home = principal.home
        facts = self._facts
        url = facts.ocpp_url
        chargers = tuple(
            ChargerHint(charger, device, url.replace("{charger}", charger))
            for charger, where, device in facts.chargers
            if where == home and url is not None
        )
        hints = DeviceHints(
            home=home,
            mqtt_url=facts.mqtt_url,
            builtin_broker=facts.builtin_broker,
            state_topic=f"carhome/{home}/{{device}}/state",
            command_topic=f"carhome/{home}/{{device}}/cmd",
            credentials=f"carhome mqtt credentials --config CONFIG_FILE --show {home}/{{device}}",
            ocpp_url=url,
            chargers=chargers,
            devices=len(self._hub.devices(home)),
        )
        return json_response(hints)


OPERATIONS: Final[tuple[Operation[SetupRoutes], ...]] = (
    Operation(
        "GET",
        "/api/setup",
        SetupRoutes.status,
        "Whether the hub waits for its first owner",
        "setup",
        {200: SetupStatus},
        open=True,
    ),
    Operation(
        "POST",
        "/api/setup/owner",
        SetupRoutes.owner,
        "Make the first owner with the setup code the hub printed; answers their tokens",
        "setup",
        {201: Tokens},
        body=FirstOwner,
        problems=(403, 409, 429),
        open=True,
        description="The code is printed on the terminal that started the hub (and in its log), as a"
        " link to /setup?code=...; it is valid once, and only while the hub has no member.",
    ),
    Operation(
        "GET",
        "/api/setup/home",
        SetupRoutes.home,
        "The owner's home as the setup step shows it",
        "setup",
        {200: HomeSetup},
        problems=(403,),
    ),
    Operation(
        "PUT",
        "/api/setup/home",
        SetupRoutes.set_home,
        "Set the home's name, place, time zone and price (a home not in the configuration file)",
        "setup",
        {200: HomeSetup},
        body=HomeSettings,
        problems=(403, 409),
    ),
    Operation(
        "GET",
        "/api/setup/devices",
        SetupRoutes.devices,
        "How first devices connect to this hub (MQTT topics and logins, the OCPP URL)",
        "setup",
        {200: DeviceHints},
        problems=(403,),
    ),
)


def setup_routes(hub: Hub, access: Access, first_run: FirstRun | None, facts: SetupFacts) -> list[BaseRoute]:
    return routes(OPERATIONS, SetupRoutes(hub, access, first_run, facts))


def setup_part(config: Config) -> ServicePart:
    """The first run's routes as a part: after access control (the first owner), the broker
    and the OCPP server (where devices connect) and charging (the homes' prices)."""

    @contextlib.asynccontextmanager
    async def running(context: Context) -> AsyncIterator[None]:
        ocpp = context.want(OCPP)
        facts = setup_facts(
            config,
            context.need(BROKER).url,
            HomePrices.beside(context.data) if context.data is not None else None,
            None if ocpp is None else urlsplit(ocpp.url).port,
        )
        context.routes.extend(setup_routes(context.hub, context.need(ACCESS), context.want(FIRST_RUN), facts))
        yield None

    return ServicePart("setup", running)


def setup_facts(
    config: Config, broker_url: str, prices: HomePrices | None, ocpp_port: int | None
) -> SetupFacts:
    """What the setup step tells of this hub: its configured homes and their tariffs, where
    MQTT devices and OCPP chargers connect."""
    kinds: dict[str, TariffKind] = {h.id: "none" for h in config.homes}
    for entry in config.charging:
        home = entry.home or config.homes[0].id
        if kinds.get(home) == "none":
            t = entry.tariff
            kinds[home] = "fixed" if t.fixed is not None else "time_of_use" if t.time_of_use else "file"
    ocpp = config.ocpp
    return SetupFacts(
        configured=kinds,
        prices=prices,
        mqtt_url=redacted(broker_url),
        builtin_broker=not config.mqtt.external,
        ocpp_url=None if ocpp is None else f"ws://{ocpp.host}:{ocpp_port or ocpp.port}/ocpp/{{charger}}",
        chargers=() if ocpp is None else tuple((cid, c.home, c.device) for cid, c in ocpp.chargers.items()),
    )
