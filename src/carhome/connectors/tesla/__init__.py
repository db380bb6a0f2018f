"""Tesla: cars streamed by Tesla's fleet-telemetry server through its MQTT datastore.

``TeslaTelemetryConnector`` follows each configured VIN's fields and connectivity on the
broker fleet-telemetry publishes to, and maps the fields to the car's VSS signals
(``fields``, with the units in ``units``). It is read-only: fleet-telemetry is one-way, and
commands need Tesla's vehicle-command protocol, which carhome does not speak.
``TeslaConfig`` is the configuration section.
"""

# Importing this package stays light (the configuration loads it): the connector, which
# brings the MQTT client, is imported on first use of a name that needs it.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "CONNECTOR": "carhome.connectors.tesla.config",
    "FIELDS": "carhome.connectors.tesla.fields",
    "NOT_COMMANDABLE": "carhome.connectors.tesla.connector",
    "FieldError": "carhome.connectors.tesla.fields",
    "FieldMap": "carhome.connectors.tesla.fields",
    "Fields": "carhome.connectors.tesla.fields",
    "TeslaCar": "carhome.connectors.tesla.config",
    "TeslaConfig": "carhome.connectors.tesla.config",
    "TeslaStats": "carhome.connectors.tesla.connector",
    "TeslaTelemetryConnector": "carhome.connectors.tesla.connector",
}

__all__ = [
    "CONNECTOR",
    "FIELDS",
    "NOT_COMMANDABLE",
    "FieldError",
    "FieldMap",
    "Fields",
    "TeslaCar",
    "TeslaConfig",
    "TeslaStats",
    "TeslaTelemetryConnector",
]


__getattr__ = exports(__name__, _WHERE)


if TYPE_CHECKING:
    from carhome.connectors.tesla.config import CONNECTOR, TeslaCar, TeslaConfig
    from carhome.connectors.tesla.connector import NOT_COMMANDABLE, TeslaStats, TeslaTelemetryConnector
    from carhome.connectors.tesla.fields import FIELDS, FieldError, FieldMap, Fields
