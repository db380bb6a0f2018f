"""That a device a connector is configured to feed is one the hub has, as it expects.

``check_hub_device`` runs when a connector starts: the hub must have the device, of the
type the connector feeds, with the connector's name as its ``connector`` (so its commands
come to it); each miss is a ``ConfigError`` saying what to write.
"""

from __future__ import annotations

from carhome.errors import ConfigError, UnknownDevice
from carhome.hub import Hub


def check_hub_device(
    hub: Hub, connector: str, home: str, device: str, *, wanted: str, where: str, feeds: str
) -> None:
    """``ConfigError`` unless ``home``/``device`` is a ``wanted`` of ``connector`` in the hub.

    ``where`` names the configured device in the messages; ``feeds`` says what makes it a
    ``wanted`` ("model X is a", "a SunSpec inverter feeds a").
    """
    try:
        record = hub.device(home, device)
    except UnknownDevice as exc:
        raise ConfigError(
            f"{where}: {exc}; add it to the home's devices with connector: {connector}"
        ) from None
    if record.type != wanted:
        raise ConfigError(f"{where}: {feeds} {wanted}, but the hub has a {record.type}")
    if record.connector != connector:
        raise ConfigError(
            f"{where} has connector {record.connector!r};"
            f" give it `connector: {connector}` so its commands come here"
        )
