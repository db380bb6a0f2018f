"""The brokers the chaos tests stop and kill, each a real process on a fixed loopback port:
Mosquitto and carhome's built-in broker, both ``BrokerProcess``es (``mqtt.brokers``).

``BROKERS`` names every kind; the ``broker`` fixture of this package is parametrized over
it. Another broker plugs in as one more subclass and one more entry (say ``"nats"``, a
``nats-server -js -c CONF`` with MQTT enabled, ready on "Server is ready").
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from mqtt.brokers import BrokerProcess, Mosquitto


class Builtin(BrokerProcess):
    """carhome's built-in broker (``EmbeddedBroker``: the NATS server, supervised), in a process
    of its own."""

    name = "builtin"
    ready = "ready"

    def command(self) -> list[str]:
        data = self.workdir / f"builtin-{self.port}"  # kept across its restarts, as the hub's is
        return [sys.executable, str(Path(__file__).with_name("builtin_broker.py")), str(self.port), str(data)]


BROKERS: dict[str, Callable[[int, Path], BrokerProcess]] = {"mosquitto": Mosquitto, "builtin": Builtin}
