"""The built-in MQTT broker: amqtt inside the hub process, for the embedded deployment.

amqtt speaks MQTT 3.1.1 only, so whatever connects to it — the hub's connector, devices —
uses protocol 311. Anonymous clients are allowed for now (per-device credentials and ACLs
come later); the ``$SYS`` topics and the packet and event loggers are left out.

amqtt logs every connection at INFO, and the state machine it uses (``transitions``) logs
every state change at INFO; both are set to WARNING here unless the application has
already set their levels itself.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Final, Self

from amqtt.broker import Broker
from amqtt.errors import AMQTTError, BrokerError

from carhome.errors import BrokerUnavailable, ConfigError

log: Final = logging.getLogger(__name__)

_CHATTY_LOGGERS: Final = ("amqtt", "transitions")


class EmbeddedBroker:
    """An MQTT 3.1.1 broker on ``host:port`` for as long as the context is open."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        if not 0 < port < 65536:
            raise ConfigError(f"broker port {port} is out of range; use 1-65535")
        if not host or ":" in host:
            raise ConfigError(f"broker host {host!r} is not valid; use an IPv4 address or a name")
        self.host = host
        self.port = port
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        """The URL clients connect to (``mqtt://host:port``)."""
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        for name in _CHATTY_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only what is named here is loaded: no $SYS publisher, no packet logger.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config)
        try:
            await broker.start()
        except (AMQTTError, BrokerError, OSError) as exc:
            raise BrokerUnavailable(
                f"cannot start the built-in MQTT broker on {self.host}:{self.port}:"
                f" {exc}; is the port taken? choose another one"
            ) from exc
        self._broker = broker
        log.info("built-in MQTT broker listening on %s", self.url)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
