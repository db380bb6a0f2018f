"""A partition's log: where a fleet worker reads what the devices of its homes said.

In a fleet, devices publish MQTT to any NATS server of the cluster, as they do to the
embedded hub: ``carhome/<home>/<device>/<kind>`` (NATS sees ``carhome.<home>.<device>.<kind>``).
The server maps what devices *report* to their home's partition and JetStream keeps one
stream per partition, so a partition's messages have one order and can be read again from
any position:

- ``REPORTS``: the kinds that are reported to the hub (states, events, command acks,
  online/offline status). Commands and key traffic, which go *to* devices, are not mapped.
- ``mapping(P)``: the server's subject mapping, ``carhome.<home>.<device>.<kind>`` →
  ``fleet.<p>.<home>.<device>.<kind>`` with ``p = {{partition(P, home)}}`` (NATS hashes: FNV-1a
  32 of the home token, modulo P); ``partition_of`` gives the same answer in Python, for a
  worker that must know its homes before their messages come.
- ``stream(p)`` / ``stream_subjects(p)``: the stream of partition ``p`` and what it captures.

``PartitionLog`` is what a worker needs of that: read partition ``p`` after a position (the
stream sequence its checkpoint covers), in order. ``Entry`` is one message as read. The
JetStream implementation lives beside the NATS cluster (``carhome.fleet.jetstream``); tests may use
any other implementation of the protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, Protocol

import msgspec

REPORTS: Final = ("state", "event", "ack", "status")
"""The MQTT topic kinds a device reports that go to a partition (``carhome.mqtt.topics.Kind``'s
values; the replies to session and enrollment asks go to whoever asked, not to a log)."""

PREFIX: Final = "fleet"


def mapping(partitions: int) -> dict[str, str]:
    """The NATS server's ``mappings`` for a fleet of ``partitions``: each reported kind to its
    home's partition subject."""
    return {
        f"carhome.*.*.{kind}": f"{PREFIX}.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}"
        f".{{{{wildcard(2)}}}}.{kind}"
        for kind in REPORTS
    }


def partition_of(home: str, partitions: int) -> int:
    """The partition NATS maps ``home`` to: FNV-1a 32 of the home token, modulo ``partitions``
    (nats-server's ``partition`` subject transform).

    The server does the routing; a worker needs the same answer *before* any message comes —
    which homes to load, whose state and outbox to restore, whose API calls to answer when
    it takes a partition — so the hash is here too, and a test through the real server keeps
    the two equal."""
    h = 0x811C9DC5
    for byte in home.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h % partitions


def stream(partition: int) -> str:
    """The JetStream stream of ``partition``."""
    return f"FLEET_P{partition}"


def stream_subjects(partition: int) -> list[str]:
    """What the stream of ``partition`` captures."""
    return [f"{PREFIX}.{partition}.>"]


class Entry(msgspec.Struct, frozen=True):
    """One message of a partition's log."""

    seq: int
    """Its position in the partition's stream (1, 2, …): a checkpoint names the last applied."""
    home: str
    device: str
    kind: str
    """One of ``REPORTS``."""
    payload: bytes


def entry(seq: int, subject: str, payload: bytes) -> Entry:
    """The entry of a message read from a partition stream (``fleet.<p>.<home>.<device>.<kind>``)."""
    _, _, home, device, kind = subject.split(".", 4)
    return Entry(seq, home, device, kind, payload)


class PartitionLog(Protocol):
    """The partitions' logs, as a worker reads them."""

    def read(self, partition: int, after: int) -> AsyncIterator[list[Entry]]:
        """Batches of partition ``partition``'s entries after position ``after``, in order,
        as they come, until the iteration is closed."""
        ...
