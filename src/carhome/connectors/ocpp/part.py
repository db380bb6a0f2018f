"""The OCPP central system as a part of the hub: the ``ocpp:`` section's chargers.

Its transactions are kept beside the hub's database (``HUB_DATABASE``), or in its PostgreSQL
database (``POSTGRES``) when it is one, so they outlive a restart; it relays key asks to its
chargers (``KEY_RELAY``) and offers where it listens and each charger's login (``OCPP``) to
a simulated wallbox.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from carhome.connectors.ocpp.config import OcppChargerConfig, OcppConfig
from carhome.connectors.ocpp.postgres import PostgresTransactionStore
from carhome.connectors.ocpp.server import Charger, OcppServer
from carhome.connectors.ocpp.sqlite import SqliteTransactionStore
from carhome.connectors.ocpp.store import TransactionStore
from carhome.errors import ConfigError
from carhome.parts import Context, SectionPart
from carhome.parts.keys import HUB_DATABASE, KEY_RELAY, OCPP, POSTGRES, OcppLinks

log: Final = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _running(context: Context, section: OcppConfig) -> AsyncIterator[OcppServer]:
    chargers: dict[str, Charger] = {}
    logins: dict[tuple[str, str], tuple[str, str]] = {}
    for cid, charger in section.chargers.items():
        password = _password(cid, charger)
        chargers[cid] = Charger(home=charger.home, device=charger.device, password=password)
        logins[(charger.home, charger.device)] = (cid, password)
    postgres = context.want(POSTGRES)
    database = context.want(HUB_DATABASE)
    store: TransactionStore | None = None
    if postgres is not None:
        store = PostgresTransactionStore(postgres, {cid: c.home for cid, c in chargers.items()})
    elif database is not None:
        store = SqliteTransactionStore.beside(database)
    async with OcppServer(
        context.hub, section.host, section.port, chargers=chargers, id_tokens=section.id_tokens, store=store
    ) as server:
        url = f"ws://127.0.0.1:{server.port}/ocpp"
        log.info("OCPP central system listening on %s/{charger id}", url)
        relay = context.want(KEY_RELAY)
        if relay is not None:
            relay.add("ocpp", server)
        context.provide(OCPP, OcppLinks(url, logins))
        yield server


PART: Final = SectionPart("ocpp", OcppConfig, _running)


def _password(cid: str, charger: OcppChargerConfig) -> str:
    if charger.password is not None:
        return charger.password
    path = Path(str(charger.password_file))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the password of OCPP charger {cid!r}: {exc}", file=str(path)) from exc
    password = lines[0].strip() if lines else ""
    if not 16 <= len(password) <= 40:
        raise ConfigError(
            f"the password of OCPP charger {cid!r} must have 16 to 40 characters on the first line",
            file=str(path),
        )
    return password
