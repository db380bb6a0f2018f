"""The typed keys of what the process and the parts provide each other through the ``Context``.

A part that owns a thing provides it under its key; a part that needs it asks the context,
so neither imports the other. Each key says who provides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from carhome.http.operations import Operation
from carhome.parts.part import Key
from carhome.pgdatabase import PgDatabase
from carhome.prices.tariffs import Tariff
from carhome.signing.relay import ByConnector

HUB_DATABASE: Final[Key[Path]] = Key("hub database")
"""The hub's SQLite file; parts keep their own files beside it (provided by the process)."""

POSTGRES: Final[Key[PgDatabase]] = Key("postgres")
"""The PostgreSQL database of the hub's store, when the store is on PostgreSQL (provided by
the process): a part that keeps something durable keeps its tables there instead of in a
file beside ``HUB_DATABASE``."""

TARIFFS: Final[Key[Mapping[str, Tariff]]] = Key("tariffs")
"""Each home's tariff, what a charge is priced with (provided with the charging section)."""

CHARGER_CARS: Final[Key[Mapping[tuple[str, str], str]]] = Key("charger cars")
"""(home, charger) → the car each configured charger meters (provided with the charging section)."""


Login = tuple[str | None, str | None]
"""An MQTT username and password (either may be None: an anonymous broker)."""


@dataclass(frozen=True, slots=True)
class BrokerLogins:
    """Where the hub's MQTT broker is, the hub's login and the Home Assistant bridge's."""

    url: str
    hub: Login
    bridge: Login | None = None
    """None when no bridge is configured."""
    identities: Path | None = None
    """The file of the MQTT identities of the hub's devices (a simulated device logs in with
    its own), or None when there is none."""


BROKER: Final[Key[BrokerLogins]] = Key("broker")
"""The broker every MQTT-speaking part connects to (provided by the ``mqtt`` part, which runs
the built-in broker or names an external one)."""


@dataclass(frozen=True, slots=True)
class BridgeLogin:
    """The Home Assistant bridge's MQTT identity: the built-in broker makes it a login (with
    its ACLs) before the bridge starts; an external broker takes the configured one."""

    bridge_id: str
    discovery_prefix: str
    login: Login = (None, None)
    """The configured login on an external broker."""


MQTT_BRIDGE: Final[Key[BridgeLogin]] = Key("mqtt bridge")
"""Who the bridge logs in as (provided by the composition when Home Assistant is configured)."""


@dataclass(frozen=True, slots=True)
class OcppLinks:
    """Where the OCPP central system listens and each configured charger's login."""

    url: str
    """``ws://host:port/ocpp``; a charger connects to ``{url}/{charger id}``."""
    logins: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(home, wallbox device) → (charger id, password)."""


OCPP: Final[Key[OcppLinks]] = Key("ocpp")
"""The OCPP server a simulated wallbox connects to (provided by charging when OCPP is configured)."""

Screen = Callable[[str, str], str | None]
"""(home, device) → what a device's own screen shows (an enrollment code), or None."""

SCREENS: Final[Key[Screen]] = Key("screens")
"""The simulated devices' screens, for enrolling keys on the hub's local screen (provided by
the simulator)."""

KEY_RELAY: Final[Key[ByConnector]] = Key("key relay")
"""Which connector relays a key ask to each device (provided by the process; the MQTT and
OCPP parts add themselves)."""

AUTOMATION_FILES: Final[Key[Sequence[Path]]] = Key("automation files")
"""Read-only automation files loaded beside the data directory's own (provided by the process:
the demo's packaged file, files given on the command line)."""

DESCRIBED: Final[Key[Sequence[Operation[Any]]]] = Key("described")
"""Every operation of the hub's parts, what the API's description lists (provided by the
composition, which knows them all)."""

API_URL: Final[Key[str]] = Key("api url")
"""Where the hub's API listens, ``http://host:port`` (provided by the API part)."""
