"""Broker faults lose no command: 20 broker restarts under load, half of them SIGKILL.

The hub (on its SQLite outbox) keeps sending commands to four counters while the broker —
each kind in turn, a real process — is stopped and started again at seeded points: after
a seeded number of the latest burst's results, so commands are in flight in every
direction when it goes (on their way to a device, running, their acks on the way back),
and more are sent while it is down. Brokers keep nothing across a crash here, so whatever
comes through is carhome's doing: the outbox, redelivery when a link comes back, and the
devices answering an id they already ran with the ack they kept.

Figures: ``commands lost: 0`` (each command final, acked, run exactly once) and
``duplicates executed: 0``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from carhome.clock import SystemClock
from carhome.hub import Command, CommandStatus, Hub
from carhome.store import SqliteStore
from mqtt.brokers import GRACE, BrokerProcess

from .conftest import CHAOS_SPECS, Counters, lost

RESTARTS = 20
BURST = 12  # commands sent before each restart, some still in flight when it comes
WHILE_DOWN = 3  # commands sent while the broker is away
SEED = 20261205


@pytest.mark.timeout(300)
async def test_broker_restarts_lose_no_command_and_run_none_twice(
    broker: BrokerProcess, tmp_path: Path
) -> None:
    clock = SystemClock()
    rng = random.Random(SEED)
    sent: list[Command] = []
    kills = 0
    async with (
        Hub(store=SqliteStore(tmp_path / "hub.db"), clock=clock, specs=CHAOS_SPECS) as hub,
        Counters(hub, clock, tmp_path, hub_url=broker.url, device_url=broker.url) as home,
    ):
        for restart in range(RESTARTS):
            before = len(home.finals.done)
            burst = [await home.send(rng.choice(home.names)) for _ in range(BURST)]
            sent += burst
            # the kill point: after a seeded number of this burst's results
            point = rng.randrange(BURST)
            try:
                await home.finals.until(lambda b=before, p=point: len(home.finals.done) >= b + p, "results")
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}; the broker's last lines:\n{''.join(broker.log[-30:])}"
                ) from None
            kill = restart % 2 == 0
            kills += kill
            await broker.stop(kill=kill)
            sent += [await home.send(rng.choice(home.names)) for _ in range(WHILE_DOWN)]
            await broker.start()
        await home.finals.all_final(sent)
        missing = lost(home, sent)
        twice = home.executions.twice()
    forced = f", {broker.forced} SIGTERM not done in {GRACE:.0f} s and killed" if broker.forced else ""
    print(
        f"\n{broker.name}: broker restarts: {RESTARTS} ({kills} SIGKILL{forced}), commands: {len(sent)},"
        f" commands lost: {len(missing)}, duplicates executed: {twice}"
    )
    assert missing == []
    assert twice == 0
    assert broker.starts == RESTARTS + 1
    assert len({c.id for c in sent}) == len(sent) == RESTARTS * (BURST + WHILE_DOWN)
    # every command reached its device: nothing expired (the test is over long before the TTL)
    assert {c.status for c in sent} == {CommandStatus.ACKED}
