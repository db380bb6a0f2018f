"""The ``kuksa:`` section of the configuration file.

::

    kuksa:
      serve:                        # vehicle apps reach these cars over the KUKSA API
        - {home: h1, device: car, host: 127.0.0.1, port: 55555}
      databrokers:                  # these cars' signals come from their KUKSA databroker
        - {home: h1, device: car2, url: "grpc://192.0.2.10:55555", paths: [Vehicle.Speed]}
      command_ttl: 30

One server per car: KUKSA serves one vehicle per endpoint, so each car has its own port.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

DEFAULT_PORT: Final = 55555
"""The port KUKSA's databroker listens on by default."""

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class KuksaServe(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Serve one car to vehicle apps."""

    home: str
    device: str
    host: str = "127.0.0.1"
    """Loopback by default: the port is plain gRPC, without TLS."""
    port: Port = DEFAULT_PORT
    providers: tuple[str, ...] = ()
    """Members allowed to publish the car's values (its own feeders); apps only actuate."""


class KuksaDatabroker(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Take one car's signals from its in-vehicle KUKSA databroker."""

    home: str
    device: str
    url: str
    """``grpc://host:port`` of the databroker."""
    paths: tuple[str, ...] = ()
    """VSS paths to follow; all the signals carhome knows for a car when empty."""
    token: str | None = None
    """A bearer token, when the databroker checks them."""


class KuksaConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    serve: tuple[KuksaServe, ...] = ()
    databrokers: tuple[KuksaDatabroker, ...] = ()
    command_ttl: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    """Seconds an actuation may wait for the car before it expires."""
