"""That a device a connector is configured to feed is one the hub has, as it expects.

``check_hub_device`` runs when a connector starts: the hub must have the device, of the
type the connector feeds, with the connector's name as its ``connector`` (so its commands
come to it); each miss is a ``ConfigError`` saying what to write. ``hub_device_problem``
is the same check of a configuration file's section, before anything starts.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def hub_device_problem(
    hub_devices: Mapping[tuple[str, str], tuple[str, str]],
    home: str,
    device: str,
    connector: str,
    *,
    wanted: str | None,
    feeds: str,
    field: str = "device",
    type_field: str = "device",
) -> tuple[str, str] | None:
    """What is wrong with the hub device a configuration entry names, checked against the
    configured ones ((home, device) → (type, connector)): the entry's field to point at and
    the message, or ``None``. ``wanted`` (``None``: not known) and ``feeds`` as for
    ``check_hub_device``; a wrong type is reported at ``type_field``, the rest at ``field``."""
    where = f"{home}/{device}"
    found = hub_devices.get((home, device))
    if found is None:
        return field, f"no device {where} in homes[].devices"
    if wanted is not None and found[0] != wanted:
        return type_field, f"{feeds} {wanted}, but {where} is a {found[0]}"
    if found[1] != connector:
        return field, f"{where} has connector {found[1]!r}; give it `connector: {connector}`"
    return None
