"""A partition hub's commands to its devices over the NATS cluster: ``NatsCommands``.

It is the hub's ``Transport`` for devices whose connector is ``mqtt``, as the embedded MQTT
connector is: each command encoded as the connector encodes it
(``carhome.mqtt.payloads.encode_command``) and published on the NATS subject of the
device's ``carhome/<home>/<device>/cmd`` topic (``carhome.<home>.<device>.cmd``), where the
cluster's MQTT listener hands it to the device subscribed to that topic. The device's ack
comes back as any report does, through the partition's log, which the worker applies.

What a core NATS publish is worth to an MQTT subscriber (measured in ``tests/fleet``, and
said by the NATS docs): it arrives at **QoS 0** whatever QoS the device subscribed with (a
NATS message carries no QoS to inherit), and a device offline at that moment never gets it
— not even with a persistent session, whose stored QoS 1 messages are only those MQTT
clients published. So reliability is carhome's, as with any broker (RELIABILITY.md): the
command is in the fenced outbox before it is sent, and it is sent again

- when the hub takes the partition (``attach``: the router sends every pending command,
  loaded from the outbox, so a takeover redelivers what the dead owner sent or had not);
- when its device comes back ``online`` (the broker dropped what came while it was away);
- every ``resend`` seconds while it is unacknowledged and unexpired (a QoS 0 message lost
  on the way to a connected device).

Ids are the hub's (derived from their cause for what the hub makes itself), and devices
execute an id once and answer a repeat with the stored ack, so sending again is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Final, Self

import nats.errors
from nats.aio.client import Client

from carhome.errors import ConnectorError, UnknownDevice
from carhome.hub import Command, Hub
from carhome.hub.states import Availability
from carhome.mqtt.nats import subjects
from carhome.mqtt.payloads import encode_command
from carhome.mqtt.topics import Kind, Topic

log: Final = logging.getLogger(__name__)

CONNECTOR: Final = "mqtt"
RESEND: Final = 5.0
"""Seconds between sends of a command its device has not acknowledged."""


def command_subject(home: str, device: str) -> str:
    """The NATS subject of a device's ``cmd`` topic (``carhome.<home>.<device>.cmd``)."""
    (subject,) = subjects(str(Topic(home, device, Kind.CMD)))
    return subject


class NatsCommands:
    """Delivers one partition hub's commands over the cluster; an async context manager
    that attaches it to the hub for the ``mqtt`` connector while its block runs."""

    def __init__(self, nats: Client, hub: Hub, *, resend: float = RESEND) -> None:
        self._nats = nats
        self._hub = hub
        self.resend = resend
        self.sent = 0
        """Publishes handed to the NATS client (sends again included)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch = hub.bus.subscribe(self._on_availability, kind=Availability)
        self._resender: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._hub.commands.attach(CONNECTOR, self)  # sends what the outbox holds pending
        self._resender = asyncio.create_task(self._resend(), name="fleet-commands-resend")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._hub.commands.detach(CONNECTOR)
        self._watch.cancel()
        tasks = [*self._tasks, *([self._resender] if self._resender is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def deliver(self, command: Command) -> None:
        """Publish ``command`` on its device's ``cmd`` subject (``Transport``)."""
        try:
            await self._nats.publish(command_subject(command.home, command.device), encode_command(command))
        except nats.errors.Error as exc:
            raise ConnectorError(
                f"command {command.id} to {command.home}/{command.device} not sent ({exc});"
                " it is sent again when the NATS connection is back"
            ) from exc
        self.sent += 1

    def _mine(self, command: Command, now: float) -> bool:
        if command.expires <= now:
            return False
        try:
            return self._hub.device(command.home, command.device).connector == CONNECTOR
        except UnknownDevice:
            return False

    def _send_again(self, commands: list[Command]) -> None:
        if not commands:
            return
        task = asyncio.create_task(self._send_all(commands), name="fleet-commands-again")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_all(self, commands: list[Command]) -> None:
        for command in commands:
            if command.status.final:
                continue
            try:
                await self.deliver(command)
            except ConnectorError as exc:
                log.warning("%s", exc)
                return

    def _on_availability(self, change: Availability) -> None:
        """A device back online gets its pending commands again."""
        if not change.online:
            return
        now = self._hub.clock.time()
        self._send_again(
            [
                c
                for c in self._hub.commands.pending()
                if c.home == change.home and c.device == change.device and self._mine(c, now)
            ]
        )

    async def _resend(self) -> None:
        """Every ``resend`` seconds, the commands pending for longer than that, again."""
        while True:
            await self._hub.clock.sleep(self.resend)
            now = self._hub.clock.time()
            self._send_again(
                [
                    c
                    for c in self._hub.commands.pending()
                    if self._mine(c, now) and (c.sent_at is None or c.sent_at <= now - self.resend)
                ]
            )
