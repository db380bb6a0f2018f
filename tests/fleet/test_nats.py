"""The fleet's NATS cluster: devices' reports mapped to their home's partition stream by the
server's own hash, read back in order from any position, across a stream leader's death, and
nobody but a worker reading the partitions."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import nats
import pytest
from gmqtt.mqtt.handler import MQTTConnectError

from carhome.fleet.cluster import NatsCluster
from carhome.fleet.jetstream import connect, ensure_streams, open_log, until_led
from carhome.fleet.log import partition_of, stream
from carhome.mqtt.credentials import Credentials
from fleet.nats_rig import BOUND, PARTITIONS, Collector, Device, fleet

HOMES = [f"home-{n}" for n in range(200)]


async def test_every_home_lands_in_the_stream_of_its_partition(tmp_path: Path) -> None:
    async with fleet(tmp_path, HOMES) as f:
        per_home = 3
        collector = f.collector()
        for p in range(PARTITIONS):
            collector.start(p)
        try:
            for home in HOMES:
                # server 2 of 3: the mapping and the streams are the cluster's, not one server's
                async with Device(f.cluster.mqtt_port(1), f.credentials, home) as device:
                    await device.publish([f'{{"n": {n}}}'.encode() for n in range(per_home)])
            await collector.until(lambda: collector.count() >= len(HOMES) * per_home)
        finally:
            await collector.stop()
        assert collector.count() == len(HOMES) * per_home
        misplaced = [
            (p, e.home)
            for p, entries in collector.read.items()
            for e in entries
            if partition_of(e.home, PARTITIONS) != p
        ]
        placed = len(HOMES) - len({home for _, home in misplaced})
        print(f"homes in the stream of partition_of(home): {placed} of {len(HOMES)}")
        assert misplaced == []
        for p, entries in collector.read.items():
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
            for home in {e.home for e in entries}:
                said = [e.payload for e in entries if e.home == home]
                assert said == [f'{{"n": {n}}}'.encode() for n in range(per_home)], (p, home)
        # made once: running it again changes nothing
        assert await ensure_streams(f.admin.jetstream(), PARTITIONS, replicas=3) == []
        info = await f.admin.jetstream().stream_info(stream(0))
        assert info.config.num_replicas == 3


async def test_a_read_from_a_middle_position_yields_exactly_the_rest(tmp_path: Path) -> None:
    home = HOMES[7]
    p = partition_of(home, PARTITIONS)
    async with fleet(tmp_path, [home]) as f:
        async with (
            Device(f.cluster.mqtt_port(0), f.credentials, home) as device,
            open_log(f.cluster.nats_urls, f.cluster.worker, idle=0.5) as log,
        ):
            await device.publish([f"{n}".encode() for n in range(1, 301)])
            collector = Collector(log)
            collector.start(p, after=120)
            try:
                await collector.until(lambda: collector.count() >= 180)
                # what comes later follows, after what was there
                await device.publish([f"{n}".encode() for n in range(301, 351)])
                await collector.until(lambda: collector.count() >= 230)
            finally:
                await collector.stop()
        read = collector.read[p]
        print(f"read after 120 of 350: {len(read)} entries, seq {read[0].seq}..{read[-1].seq}")
        assert [e.seq for e in read] == list(range(121, 351))
        assert [e.payload for e in read] == [f"{n}".encode() for n in range(121, 351)]
        assert {(e.home, e.device, e.kind) for e in read} == {(home, "car", "state")}


class Publisher:
    """A device publishing numbered QoS 1 reports, 20 at a time, until told to stop; it knows
    which numbers were sent and which were PUBACKed."""

    WINDOW = 20

    def __init__(self, device: Device) -> None:
        self.device = device
        self.sent = 0
        self.acked: list[int] = []
        self.resent: set[int] = set()
        """Numbers sent again after the connection broke before their PUBACK: the stream may
        hold them twice."""
        self.progress = asyncio.Condition()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            numbers = list(range(self.sent + 1, self.sent + self.WINDOW + 1))
            self.sent = numbers[-1]
            broken = self.device.disconnects
            await self.device.publish([f"{n}".encode() for n in numbers])
            if self.device.disconnects != broken:
                self.resent.update(numbers)
            async with self.progress:
                self.acked += numbers
                self.progress.notify_all()

    async def until_acked(self, count: int) -> None:
        async with self.progress:
            await asyncio.wait_for(self.progress.wait_for(lambda: len(self.acked) >= count), BOUND)


async def _kill_while_publishing(tmp_path: Path, *, leader: bool) -> tuple[int, int]:
    """Kill the leader (or a follower) of a partition's stream while a device publishes QoS 1 to
    another server; the numbers PUBACKed but not in the stream, and how many were PUBACKed."""
    home = HOMES[3]
    p = partition_of(home, PARTITIONS)
    async with fleet(tmp_path, [home]) as f:
        info = await f.admin.jetstream().stream_info(stream(p))
        assert info.cluster is not None
        assert info.cluster.leader is not None
        lead = f.cluster.index(info.cluster.leader)
        followers = [i for i in range(3) if i != lead]
        killed, device_on = (lead, followers[0]) if leader else (followers[0], followers[1])
        collector = f.collector()
        collector.start(p)
        async with Device(f.cluster.mqtt_port(device_on), f.credentials, home) as device:
            publisher = Publisher(device)
            publishing = asyncio.create_task(publisher.run(), name="publish")
            try:
                await publisher.until_acked(1000)
                before = len(publisher.acked)
                await f.cluster.kill(killed)
                after = len(publisher.acked)

                def numbers() -> list[int]:
                    return [int(e.payload) for e in collector.read[p]]

                # the stream takes messages again (a new leader, if it lost its own): 500 that
                # were sent after the kill are read
                await collector.until(lambda: bool(collector.read[p]) and numbers()[-1] > after + 500)
                publisher.stopping.set()
                await asyncio.wait_for(publishing, BOUND)
                last = publisher.acked[-1]
                await collector.until(lambda: numbers()[-1] == last)
            finally:
                publisher.stopping.set()
                await collector.stop()
                if not publishing.done():
                    publishing.cancel()
        seen = numbers()
        acked = publisher.acked
        lost = sorted(set(acked) - set(seen))
        # the counting holds together: the stream has each number in order (its first time),
        # twice only if it was sent again, none that was not sent; all that was acked well
        # before the kill; and the last one acked
        first = list(dict.fromkeys(seen))
        assert first == sorted(first)
        assert {n for n, times in Counter(seen).items() if times > 1} <= publisher.resent
        assert set(seen) <= set(range(1, publisher.sent + 1))
        assert set(range(1, before - 200)) <= set(seen)
        assert len(acked) == len(set(acked)) == len(lost) + len(set(acked) & set(seen))
        assert seen[-1] == last
        return len(lost), len(acked)


async def test_killing_a_stream_leader_loses_messages_the_server_acked(tmp_path: Path) -> None:
    lost, acked = await _kill_while_publishing(tmp_path, leader=True)
    print(f"leader killed: acked lost {lost} of {acked}")


async def test_killing_a_stream_follower_loses_nothing_acked(tmp_path: Path) -> None:
    lost, acked = await _kill_while_publishing(tmp_path, leader=False)
    print(f"follower killed: acked lost {lost} of {acked}")
    assert lost == 0


async def test_a_device_reads_no_partition_and_writes_only_its_own_reports(tmp_path: Path) -> None:
    mine, theirs = HOMES[3], HOMES[7]
    pm, pt = partition_of(mine, PARTITIONS), partition_of(theirs, PARTITIONS)
    assert pm != pt
    async with fleet(tmp_path, [mine, theirs]) as f:
        async with Device(f.cluster.mqtt_port(2), f.credentials, mine) as device:
            # no partition's subjects to read, not even its own home's
            for topic_filter in ("fleet/#", f"fleet/{pt}/{theirs}/car/state", f"fleet/{pm}/{mine}/car/state"):
                assert await device.subscribe(topic_filter) == 0x80, topic_filter
            # no report written straight into a partition but its own, where the mapping puts it
            forged = [
                f"fleet/{pt}/{theirs}/car/state",  # another home, in its partition
                f"fleet/{pt}/{mine}/car/state",  # its own reports, into another partition
                f"fleet/{pm}/{theirs}/car/state",  # another home's, into its own partition
                f"carhome/{theirs}/car/resend",  # an ask to resend: the hub's to make
                f"carhome/{mine}/car/resend",  # not even to itself
            ]
            for topic in forged:
                await device.publish([b'{"forged": true}'], topic=topic)
            await device.publish([b'{"own": true}'], topic=f"fleet/{pm}/{mine}/car/state")
            await device.publish([b'{"mapped": true}'])

            def refused(kind: str) -> set[str]:
                return {r.topic for r in f.cluster.refusals if r.kind == kind and r.client == f"{mine}-car"}

            await f.cluster.until_refused(lambda _: len(refused("publish")) >= len(forged))
            assert refused("publish") == set(forged)
            assert len(refused("subscribe")) == 3
        collector = f.collector()
        for p in range(PARTITIONS):
            collector.start(p)
        try:
            await collector.until(lambda: len(collector.read[pm]) >= 2)
        finally:
            await collector.stop()
        assert [(e.home, e.payload) for e in collector.read[pm]] == [
            (mine, b'{"own": true}'),
            (mine, b'{"mapped": true}'),
        ]
        assert collector.count() == 2
        # the NATS port holds nothing more for a device: no partition, no JetStream API
        violations: asyncio.Queue[Exception] = asyncio.Queue()

        async def said(error: Exception) -> None:
            violations.put_nowait(error)

        identity = f.credentials.device(mine, "car")
        nc = await nats.connect(
            f.cluster.nats_urls, user=identity.username, password=identity.password, error_cb=said
        )
        try:
            await nc.subscribe(f"fleet.{pm}.>")
            await nc.publish(f"$JS.API.CONSUMER.CREATE.{stream(pm)}", b"{}")
            await nc.flush()
            errors = [await asyncio.wait_for(violations.get(), BOUND) for _ in range(2)]
        finally:
            await nc.close()
        assert all("permissions violation" in str(e).lower() for e in errors), errors
        # nor may a worker write a device's report
        worker_violations: asyncio.Queue[Exception] = asyncio.Queue()

        async def worker_said(error: Exception) -> None:
            worker_violations.put_nowait(error)

        wc = await nats.connect(
            f.cluster.nats_urls,
            user=f.cluster.worker.user,
            password=f.cluster.worker.password,
            error_cb=worker_said,
        )
        try:
            # it asks devices to resend and hears the partition streams' leader elections
            await wc.subscribe(f"$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.{stream(pm)}")
            await wc.publish(f"carhome.{mine}.car.resend", b"{}")
            await wc.publish(f"carhome.{mine}.car.state", b"{}")
            await wc.flush()
            error = await asyncio.wait_for(worker_violations.get(), BOUND)
        finally:
            await wc.close()
        assert "permissions violation" in str(error).lower()
        assert str(error).endswith(f'.{mine}.car.state"')  # (mapped to its partition first)
        assert worker_violations.empty()


async def test_a_new_device_gets_in_after_a_reload_and_a_killed_server_comes_back(tmp_path: Path) -> None:
    old, new = HOMES[3], HOMES[7]
    async with fleet(tmp_path, [old]) as f:
        more = Credentials.make([(old, "car"), (new, "car")], keep=f.credentials)
        # a device the cluster does not know yet is refused
        with pytest.raises(MQTTConnectError, match="5"):  # not authorized
            async with Device(f.cluster.mqtt_port(0), more, new):
                pass
        await f.cluster.until_refused(lambda r: any(x.kind == "login" for x in r))
        await f.cluster.reload(more)
        f.credentials = more
        await f.cluster.kill(1)
        assert f.cluster.pid(1) is None
        await f.cluster.start(1)
        assert f.cluster.pid(1) is not None
        # the streams it led elect new leaders a while after it is back: until then reports
        # to them are PUBACKed and lost
        await until_led(f.admin.jetstream(), PARTITIONS)
        collector = f.collector()
        for home in (old, new):
            collector.start(partition_of(home, PARTITIONS))
        try:
            # through the restarted server, which read the reloaded users
            async with Device(f.cluster.mqtt_port(1), f.credentials, new) as device:
                await device.publish([b'{"new": true}'])
            async with Device(f.cluster.mqtt_port(2), f.credentials, old) as device:
                await device.publish([b'{"old": true}'])
            await collector.until(lambda: collector.count() >= 2)
        finally:
            await collector.stop()
        assert sorted((e.home, e.payload) for entries in collector.read.values() for e in entries) == [
            (old, b'{"old": true}'),
            (new, b'{"new": true}'),
        ]


async def test_the_streams_are_made_once_a_cluster_that_lost_its_quorum_has_it_again(
    tmp_path: Path,
) -> None:
    # Asked while JetStream has no meta leader (a cluster forming, or two of three servers
    # down), ensure_streams waits for one within its timeout instead of failing at once.
    async with NatsCluster(tmp_path, partitions=2, credentials=Credentials.make([])) as cluster:
        admin = await connect(cluster.nats_urls, cluster.admin)
        try:
            await cluster.kill(1)
            await cluster.kill(2)
            making = asyncio.ensure_future(ensure_streams(admin.jetstream(), 2, replicas=3, timeout=BOUND))
            await cluster.start(1)
            await cluster.start(2)
            await making
            replicas = [(await admin.jetstream().stream_info(stream(p))).config.num_replicas for p in (0, 1)]
        finally:
            await admin.close()
    print(f"streams made after the quorum came back: {len(replicas)} of 2, replicas {replicas}")
    assert replicas == [3, 3]
