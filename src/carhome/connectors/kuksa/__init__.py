"""KUKSA: the cars' VSS signals over the KUKSA gRPC API, both ways.

``KuksaServer`` serves one car to vehicle apps (``kuksa.val.v2``, plus the ``v1`` calls the
official Python client makes); ``KuksaDatabrokerConnector`` takes a car's signals from its
in-vehicle KUKSA databroker into the hub. ``KuksaConfig`` is the configuration section.
"""

# Importing this package stays light (the configuration loads it): grpc and the generated
# KUKSA stubs are imported on first use of a name that needs them.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "Authenticate": "carhome.connectors.kuksa.car",
    "DEFAULT_PORT": "carhome.connectors.kuksa.config",
    "KuksaConfig": "carhome.connectors.kuksa.config",
    "KuksaDatabroker": "carhome.connectors.kuksa.config",
    "KuksaDatabrokerConnector": "carhome.connectors.kuksa.databroker",
    "KuksaServe": "carhome.connectors.kuksa.config",
    "KuksaServer": "carhome.connectors.kuksa.server",
    "SignalError": "carhome.connectors.kuksa.errors",
}

__all__ = [
    "DEFAULT_PORT",
    "Authenticate",
    "KuksaConfig",
    "KuksaDatabroker",
    "KuksaDatabrokerConnector",
    "KuksaServe",
    "KuksaServer",
    "SignalError",
]


__getattr__ = exports(__name__, _WHERE)


if TYPE_CHECKING:
    from carhome.connectors.kuksa.car import Authenticate
    from carhome.connectors.kuksa.config import DEFAULT_PORT, KuksaConfig, KuksaDatabroker, KuksaServe
    from carhome.connectors.kuksa.databroker import KuksaDatabrokerConnector
    from carhome.connectors.kuksa.errors import SignalError
    from carhome.connectors.kuksa.server import KuksaServer
