"""The ``miio`` section of a configuration file, decoded into typed structs.

::

    miio:
      poll_interval: 30          # seconds between reads of each device
      timeout: 5                 # seconds to wait for one answer (each request is tried twice)
      devices:
        - {home: home, device: living_room_purifier, host: 192.168.1.23,
           model: zhimi.airpurifier.mb3, token_file: secrets/purifier.token}

Each device names a hub device (declared under ``homes[].devices`` with
``connector: miio``), its address, its model (one carhome has a MIoT mapping for) and its
token: ``token`` (32 hex digits) or ``token_file`` (a file whose first line is the token,
relative to the configuration file), one of the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec

from carhome.connectors.miio.mapping import MAPPINGS
from carhome.connectors.miio.tokens import PORT, check_token
from carhome.drivers.checks import hub_device_problem
from carhome.errors import ConfigError

if TYPE_CHECKING:
    from carhome.connectors.miio.connector import MiioDevice

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Problem = tuple[tuple[str | int, ...], str]
"""A path inside the ``miio`` section and what is wrong there."""


class MiioDeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One device: the hub device it is, its address, model and token (or token file)."""

    home: str
    device: str
    host: str
    model: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = PORT
    token: str | None = None
    token_file: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"MiioDeviceConfig(home={self.home!r}, device={self.device!r}, host={self.host!r})"

    def record(self, base: Path | None = None) -> MiioDevice:
        """The connector's device, reading the token file (relative to ``base``) if given."""
        token = self.token
        if token is None:
            if self.token_file is None:
                raise ConfigError(f"miio device {self.home}/{self.device}: give token or token_file")
            path = Path(self.token_file)
            if base is not None and not path.is_absolute():
                path = base / path
            try:
                token = path.read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ConfigError(
                    f"miio device {self.home}/{self.device}:"
                    f" cannot read a token from {self.token_file}: {exc}"
                ) from None
        from carhome.connectors.miio.connector import MiioDevice  # noqa: PLC0415 - loads python-miio

        return MiioDevice(
            home=self.home, device=self.device, host=self.host, token=token, model=self.model, port=self.port
        )


class MiioConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Xiaomi miIO/MIoT devices on the LAN."""

    poll_interval: Seconds = 30.0
    timeout: Seconds = 5.0
    devices: tuple[MiioDeviceConfig, ...] = ()

    def problems(self, hub_devices: Mapping[tuple[str, str], tuple[str, str]]) -> list[Problem]:
        """What is wrong, checked against the configured hub devices.

        ``hub_devices`` maps (home, device) to (type, connector). Each problem is a path
        inside this section and a message saying what is expected.
        """
        out: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        for index, d in enumerate(self.devices):
            at: tuple[str | int, ...] = ("devices", index)
            key = (d.home, d.device)
            mapping = MAPPINGS.get(d.model)
            if mapping is None:
                out.append(
                    (
                        (*at, "model"),
                        f"no MIoT mapping for {d.model!r}; mapped: {', '.join(sorted(MAPPINGS))}",
                    )
                )
            wanted = None if mapping is None else mapping.device_type
            problem = hub_device_problem(
                hub_devices,
                d.home,
                d.device,
                "miio",
                wanted=wanted,
                feeds=f"{d.model} is a",
                type_field="model",
            )
            if problem is not None:
                out.append(((*at, problem[0]), problem[1]))
            if key in seen:
                out.append(((*at, "device"), f"{d.home}/{d.device} is configured twice"))
            seen.add(key)
            if (d.token is None) == (d.token_file is None):
                out.append((at, "give the device's token or token_file (one of them)"))
            elif d.token is not None:
                try:
                    check_token(d.token)
                except ConfigError as exc:
                    out.append(((*at, "token"), str(exc)))
        return out

    def records(self, base: Path | None = None) -> list[MiioDevice]:
        """The connector's devices (token files read relative to ``base``)."""
        return [d.record(base) for d in self.devices]
