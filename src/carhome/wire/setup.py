"""A hub's first run on the wire: whether it waits for its owner, making that owner with the
setup code, the home's settings, and how first devices connect (``/api/setup/...``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Price = Annotated[float, msgspec.Meta(ge=0, le=1000)]
HomeName = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
MemberName = Annotated[str, msgspec.Meta(max_length=80)]
Secret = Annotated[str, msgspec.Meta(max_length=256)]

TariffKind = Literal["none", "fixed", "time_of_use", "file"]


class SetupStatus(msgspec.Struct, frozen=True):
    """``GET /api/setup``: whether the hub waits for its first owner (then the setup code
    printed on its terminal makes one)."""

    needs_owner: bool


class FirstOwner(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/setup/owner``: the setup code, and the first owner's id, name and password;
    ``home`` is the id of the home they own (default: the hub's first home, else ``home``)."""

    code: Secret
    member: str
    password: Secret
    name: MemberName = ""
    home: str | None = None


class HomeSetup(msgspec.Struct, frozen=True, kw_only=True):
    """A home's settings as the setup step shows them. ``in_config``: the configuration file
    holds the home, and is where it changes (the step shows it read-only); ``exists``: the hub
    has the home (else the step makes it). ``tariff`` is what prices the home's energy: the
    kind the configuration's charging section gives, or ``fixed`` at ``price`` chosen here."""

    id: str
    name: str
    lat: float | None
    lon: float | None
    timezone: str
    tariff: TariffKind
    price: float | None
    in_config: bool
    exists: bool


class HomeSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``PUT /api/setup/home``: the home's name, place (WGS 84 degrees), IANA time zone and
    its fixed price per kWh (None: no tariff)."""

    name: HomeName
    lat: Latitude
    lon: Longitude
    timezone: str
    price: Price | None = None


class ChargerHint(msgspec.Struct, frozen=True):
    """An OCPP charger configured for the home: the URL it connects to, the device it is."""

    id: str
    device: str
    url: str


class DeviceHints(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/setup/devices``: how first devices reach this hub, from its own settings.

    MQTT devices publish their state on ``state_topic`` (``{device}`` is the device's id)
    and take commands on ``command_topic``, each with its own login (``credentials``: the
    command that shows one). A wallbox speaks OCPP to ``ocpp_url`` (``{charger}``: its
    charger id), when the hub runs its OCPP central system; ``chargers`` are those the
    configuration names for the home."""

    home: str
    mqtt_url: str
    builtin_broker: bool
    state_topic: str
    command_topic: str
    credentials: str
    ocpp_url: str | None
    chargers: tuple[ChargerHint, ...]
    devices: int
