"""The ``mqtt:`` section: the broker built into the hub, or an external one by URL."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from carhome import ports

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]

DEFAULT_BROKER_PORT: Final = ports.BROKER
"""Clear of Mosquitto's 1883, which often runs on the same machine."""


class BuiltinBroker(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = DEFAULT_BROKER_PORT
    threads: Annotated[int, msgspec.Meta(ge=1)] = 1
    """The OS threads the NATS server runs on (``GOMAXPROCS``): one leaves the other cores
    to the hub (``carhome.mqtt.broker``); more only for a broker that has many busy homes."""


class MqttConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Either the broker built into the hub (``builtin``) or an external one (``url``)."""

    builtin: BuiltinBroker | None = None
    url: str | None = None
    username: str | None = None
    password: str | None = None
    max_payload: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    """The largest message payload the hub decodes, in bytes (``carhome.connectors.mqtt.
    payloads.MAX_PAYLOAD``); a larger one is refused, counted as ``too_large``."""

    @property
    def broker(self) -> BuiltinBroker:
        """The built-in broker's address (the default when no ``url`` is given)."""
        return self.builtin or BuiltinBroker()

    @property
    def external(self) -> bool:
        return self.url is not None
