"""The ``fleet:`` section of the configuration: what makes a process a fleet worker.

    fleet:
      database: postgresql://carhome@db/carhome   # the fleet's system of record, leases, checkpoints
      partitions: 64       # fixed when the fleet is made
      worker: worker-1     # this worker's id, unique among the live workers
      heartbeat: 1.0       # seconds between heartbeats (at most half of idle_timeout)
      idle_timeout: 5.0    # a worker silent this long loses its session and its partitions
      nats: [nats://n1:4222, nats://n2:4222, nats://n3:4222]   # the cluster (the partitions' logs)
      nats_user: fleet-worker      # the workers' NATS user (the cluster's configuration makes it)
      nats_password: "…"           # its password

``carhome worker --config FILE`` reads it; an embedded hub (``carhome serve``) has none.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class FleetConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    database: str
    """The fleet's PostgreSQL database (``postgresql://user:password@host:port/database``):
    homes, devices, states, the outbox, the partitions' leases and checkpoints. Workers
    need a real session to it (no transaction-mode pooler between them)."""
    worker: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    """This worker's id: unique among the live workers of the fleet."""
    partitions: Annotated[int, msgspec.Meta(ge=1, le=65_536)] = 64
    """How many partitions the fleet's homes are spread over; fixed when the fleet is made."""
    heartbeat: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """Seconds between two heartbeats (and rebalancing turns); at most half of ``idle_timeout``."""
    idle_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    """A worker silent this many seconds (stopped, wedged) loses its session, so its partitions."""
    nats: tuple[str, ...] = ()
    """The NATS cluster's URLs, where the partitions' logs are read (JetStream)."""
    nats_user: Annotated[str, msgspec.Meta(min_length=1)] = "fleet-worker"
    """The NATS user the worker connects as (``carhome.fleet.cluster.WORKER_USER``)."""
    nats_password: str | None = msgspec.field(default=None)
    """That user's password; needed when ``nats`` is given."""
