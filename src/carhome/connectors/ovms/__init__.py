"""OVMS: cars of many makers through the Open Vehicle Monitoring System module in each.

``OvmsConnector`` follows each configured car's OVMS v3 module on an MQTT broker (its server
v3 topics, ``topics``), maps its metrics to the car's VSS signals (``metrics``, with the
units in ``units``), takes its availability from the module's connected metric, and sends
it the hub's commands as OVMS shell commands (``commands``). ``OvmsConfig`` is the
configuration section.
"""

# Importing this package stays light (the configuration loads it): the connector, which
# brings the MQTT client, is imported on first use of a name that needs it.
from typing import TYPE_CHECKING

from carhome.lazy import exports

_WHERE = {
    "CONNECTOR": "carhome.connectors.ovms.config",
    "METRICS": "carhome.connectors.ovms.metrics",
    "CarMetrics": "carhome.connectors.ovms.metrics",
    "MetricError": "carhome.connectors.ovms.metrics",
    "MetricMap": "carhome.connectors.ovms.metrics",
    "ModuleTopics": "carhome.connectors.ovms.topics",
    "OvmsCar": "carhome.connectors.ovms.config",
    "OvmsConfig": "carhome.connectors.ovms.config",
    "OvmsConnector": "carhome.connectors.ovms.connector",
    "OvmsStats": "carhome.connectors.ovms.connector",
    "OvmsUnits": "carhome.connectors.ovms.config",
}

__all__ = [
    "CONNECTOR",
    "METRICS",
    "CarMetrics",
    "MetricError",
    "MetricMap",
    "ModuleTopics",
    "OvmsCar",
    "OvmsConfig",
    "OvmsConnector",
    "OvmsStats",
    "OvmsUnits",
]


__getattr__ = exports(__name__, _WHERE)


if TYPE_CHECKING:
    from carhome.connectors.ovms.config import CONNECTOR, OvmsCar, OvmsConfig, OvmsUnits
    from carhome.connectors.ovms.connector import OvmsConnector, OvmsStats
    from carhome.connectors.ovms.metrics import METRICS, CarMetrics, MetricError, MetricMap
    from carhome.connectors.ovms.topics import ModuleTopics
