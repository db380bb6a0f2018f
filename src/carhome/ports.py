"""The hub's own default ports: clear of Home Assistant (8123) and Mosquitto (1883), which
often run on the same machine. One place, so the configuration, the servers and the CLI agree."""

from __future__ import annotations

from typing import Final

API: Final = 8780
"""The HTTP API and the web app (``api.port``)."""
BROKER: Final = 18830
"""The built-in MQTT broker (``mqtt.builtin.port``)."""
