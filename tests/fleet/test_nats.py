"""The fleet's NATS cluster: devices' reports mapped to their home's partition stream by the
server's own hash, read back in order from any position, across a stream leader's death, and
nobody but a worker reading the partitions."""

from __future__ import annotations

from pathlib import Path

from carhome.fleet.jetstream import ensure_streams
from carhome.fleet.log import partition_of, stream
from fleet.nats_rig import PARTITIONS, Device, fleet

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
