"""The built-in MQTT broker: amqtt inside the hub process, for the embedded deployment.

amqtt speaks MQTT 3.1.1 only, so whatever connects to it — the hub's connector, devices —
uses protocol 311. The ``$SYS`` topics and the packet and event loggers are left out.

Given ``credentials`` (``carhome.connectors.mqtt.credentials``), the broker lets in only
their identities and enforces their ``AclTable`` through two amqtt plugins: anonymous
clients and wrong passwords are refused at CONNECT, and so is a will whose topic the
client may not publish (else a device could announce another one ``offline`` by dropping
its connection); a publish the client may not make is dropped; a subscription it may not
make is refused (SUBACK 0x80); and every delivery is checked again against the receiver's
rules, retained messages included. What was refused is counted in ``stats``. Without
credentials every client is let in, as tests of other parts and old setups expect.

amqtt logs every connection at INFO, and the state machine it uses (``transitions``) logs
every state change at INFO; both are set to WARNING here unless the application has
already set their levels itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import msgspec
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, BrokerError
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from carhome.connectors.mqtt.credentials import AclTable, Credentials
from carhome.errors import BrokerUnavailable, ConfigError

log: Final = logging.getLogger(__name__)

_CHATTY_LOGGERS: Final = ("amqtt", "transitions")


class BrokerStats(msgspec.Struct):
    """What the built-in broker refused since it started (all 0 without credentials)."""

    refused_connections: int = 0
    """CONNECTs refused: anonymous, unknown user, wrong password, a will it may not publish."""
    denied_publishes: int = 0
    """PUBLISHes dropped because the client may not publish to that topic."""
    denied_subscriptions: int = 0
    """Topic filters refused (SUBACK 0x80)."""
    withheld_deliveries: int = 0
    """Messages not delivered to a subscriber whose rules do not let it read them."""


class _Guard:
    """What both plugins share: the credentials, their ACL table and the counters."""

    def __init__(self, credentials: Credentials, stats: BrokerStats) -> None:
        self.credentials = credentials
        self.acl: AclTable = credentials.acl()
        self.stats = stats
        self.seen: set[str] = set()  # causes already logged at WARNING


class _GuardConfig:
    @dataclass
    class Config:
        guard: Any = None


class CredentialsAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Lets in a client only with an identity's username and password (and an allowed will)."""

    Config = _GuardConfig.Config

    async def authenticate(self, *, session: Any) -> bool:
        guard: _Guard = self.config.guard
        username = session.username
        if not guard.credentials.check(username, session.password):
            why = "no username" if username is None else f"wrong password or unknown user {username!r}"
            return _refuse(guard, why)
        if session.will_flag and not guard.acl.may_publish(username, session.will_topic or ""):
            return _refuse(guard, f"{username!r} may not publish its will to {session.will_topic!r}")
        return True


def _refuse(guard: _Guard, why: str) -> bool:
    guard.stats.refused_connections += 1
    # Once at WARNING per cause, then DEBUG: a device retrying forever must not flood the log.
    level = logging.DEBUG if why in guard.seen else logging.WARNING
    guard.seen.add(why)
    log.log(level, "MQTT connection refused: %s", why)
    return False


class AclTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Asks the ACL table about every publish, subscription and delivery."""

    Config = _GuardConfig.Config

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Action | None = None
    ) -> bool:
        return _decide(self.config.guard, session, topic, action)


def _decide(guard: _Guard, session: Any, topic: str | None, action: Action | None) -> bool:
    """Whether ``session`` may do ``action`` on ``topic``, by the ACL table (counted)."""
    username = None if session is None else session.username
    acl, stats = guard.acl, guard.stats
    if topic is None:
        return False
    if action == Action.PUBLISH:
        allowed = acl.may_publish(username, topic)
        stats.denied_publishes += not allowed
    elif action == Action.SUBSCRIBE:
        allowed = acl.may_subscribe(username, topic)
        stats.denied_subscriptions += not allowed
    elif action == Action.RECEIVE:
        allowed = acl.may_receive(username, topic)
        stats.withheld_deliveries += not allowed
    else:
        return False
    if not allowed and action != Action.RECEIVE:
        log.debug("MQTT %s by %r on %r refused: not in its ACL", action.value, username, topic)
    return allowed


class _Broker(Broker):  # type: ignore[misc]  # amqtt ships no types
    """amqtt's broker, with retained messages checked like every other delivery.

    amqtt 0.12 sends retained messages on subscribe — and, on connect, those matching any
    client's subscriptions — without asking the topic plugins; this asks them (RECEIVE)
    for each one. Without topic plugins every message passes, as before.
    """

    guard: _Guard | None = None

    async def _topic_filtering(self, session: Any, topic: str, action: Action) -> bool:
        # Decided here without suspending: amqtt's broadcast loop iterates its subscription
        # table across this await, and its plugin manager (a task per plugin, gathered)
        # yields to the loop — a client subscribing meanwhile broke the iteration and lost
        # that message for everyone after it ("dictionary changed size during iteration").
        if self.guard is not None:
            return _decide(self.guard, session, topic, action)
        return bool(await super()._topic_filtering(session, topic, action))

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        topic_filter, qos = subscription
        handler = self._get_handler(session)
        if handler is None:
            return
        sends = []
        for topic, retained in list(self._retained_messages.items()):
            if not self._matches(topic, topic_filter):
                continue
            if not await self._topic_filtering(session, topic=topic, action=Action.RECEIVE):
                continue
            sends.append(
                asyncio.ensure_future(
                    handler.mqtt_publish(
                        retained.topic, retained.data, min(qos, retained.qos or qos), retain=True
                    )
                )
            )
        if sends:
            await asyncio.wait(sends)


class EmbeddedBroker:
    """An MQTT 3.1.1 broker on ``host:port`` for as long as the context is open."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 1883, *, credentials: Credentials | None = None
    ) -> None:
        if not 0 < port < 65536:
            raise ConfigError(f"broker port {port} is out of range; use 1-65535")
        if not host or ":" in host:
            raise ConfigError(f"broker host {host!r} is not valid; use an IPv4 address or a name")
        self.host = host
        self.port = port
        self.credentials = credentials
        self.stats = BrokerStats()
        self._guard: _Guard | None = None
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        """The URL clients connect to (``mqtt://host:port``)."""
        return f"mqtt://{self.host}:{self.port}"

    def _plugins(self) -> dict[str, Any]:
        # Only what is named here is loaded: no $SYS publisher, no packet logger.
        if self.credentials is None:
            return {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        guard = self._guard = _Guard(self.credentials, self.stats)
        return {
            f"{__name__}.CredentialsAuthPlugin": {"guard": guard},
            f"{__name__}.AclTopicPlugin": {"guard": guard},
        }

    async def __aenter__(self) -> Self:
        for name in _CHATTY_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": self._plugins(),
        }
        broker = _Broker(config)
        broker.guard = self._guard
        try:
            await broker.start()
        except (AMQTTError, BrokerError, OSError) as exc:
            raise BrokerUnavailable(
                f"cannot start the built-in MQTT broker on {self.host}:{self.port}:"
                f" {exc}; is the port taken? choose another one"
            ) from exc
        self._broker = broker
        if self.credentials is None:
            log.info("built-in MQTT broker listening on %s (no credentials: anyone may connect)", self.url)
        else:
            log.info(
                "built-in MQTT broker listening on %s for %d identities", self.url, len(self.credentials)
            )
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
