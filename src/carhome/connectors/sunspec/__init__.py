"""carhome's SunSpec connector: solar inverters, grid meters and home batteries over Modbus TCP.

``SunSpecConnector`` polls each configured endpoint's SunSpec models into the hub's
``solar_inverter``, ``grid_meter`` and ``battery`` devices and sets an inverter's power
limit (model 123); ``models`` compiles register layouts from pysunspec2's model
definitions; ``mapping`` says which SunSpec point is which carhome property; ``client``
is the Modbus TCP side (pymodbus).
"""

# Importing this package stays light (the configuration loads it): pymodbus and pysunspec2
# are imported on first use of a name that needs them.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "CONNECTOR": "carhome.connectors.sunspec.config",
    "Chain": "carhome.connectors.sunspec.client",
    "ModelAt": "carhome.connectors.sunspec.client",
    "SunSpecClient": "carhome.connectors.sunspec.client",
    "SunSpecConfig": "carhome.connectors.sunspec.config",
    "SunSpecConnector": "carhome.connectors.sunspec.connector",
    "SunSpecDeviceConfig": "carhome.connectors.sunspec.config",
    "SunSpecError": "carhome.connectors.sunspec.client",
    "SunSpecNotFound": "carhome.connectors.sunspec.client",
    "SunSpecRefused": "carhome.connectors.sunspec.client",
    "SunSpecStats": "carhome.connectors.sunspec.connector",
    "SunSpecUnreachable": "carhome.connectors.sunspec.client",
    "layout": "carhome.connectors.sunspec.models",
}

__all__ = [
    "CONNECTOR",
    "Chain",
    "ModelAt",
    "SunSpecClient",
    "SunSpecConfig",
    "SunSpecConnector",
    "SunSpecDeviceConfig",
    "SunSpecError",
    "SunSpecNotFound",
    "SunSpecRefused",
    "SunSpecStats",
    "SunSpecUnreachable",
    "layout",
]

__getattr__ = exports(__name__, _WHERE)

if TYPE_CHECKING:
    from carhome.connectors.sunspec.client import (
        Chain,
        ModelAt,
        SunSpecClient,
        SunSpecError,
        SunSpecNotFound,
        SunSpecRefused,
        SunSpecUnreachable,
    )
    from carhome.connectors.sunspec.config import CONNECTOR, SunSpecConfig, SunSpecDeviceConfig
    from carhome.connectors.sunspec.connector import SunSpecConnector, SunSpecStats
    from carhome.connectors.sunspec.models import layout
