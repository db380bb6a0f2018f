"""The partition log's layout: NATS's partition hash and the subjects a worker reads."""

from __future__ import annotations

import pytest

from carhome.fleet.log import entry, mapping, partition_of, stream, stream_subjects


@pytest.mark.parametrize(
    ("homes", "partitions", "expected"),
    [
        # the NATS documentation's own examples of the partition transform
        ([f"customerid{i}" for i in range(1, 7)], 3, [0, 2, 1, 2, 1, 0]),
        (["1a", "1b", "2b", "2a"], 10, [1, 0, 9, 2]),
    ],
)
def test_a_home_maps_to_the_partition_nats_maps_it_to(
    homes: list[str], partitions: int, expected: list[int]
) -> None:
    assert [partition_of(home, partitions) for home in homes] == expected


def test_every_partition_gets_homes() -> None:
    counts = [0] * 64
    for n in range(6400):
        counts[partition_of(f"home-{n}", 64)] += 1
    print(f"6400 homes over 64 partitions: smallest {min(counts)}, largest {max(counts)}")
    assert min(counts) > 0


def test_reports_are_mapped_to_their_partition_and_read_back() -> None:
    assert mapping(8)["carhome.*.*.state"] == "fleet.{{partition(8,1)}}.{{wildcard(1)}}.{{wildcard(2)}}.state"
    assert "carhome.*.*.cmd" not in mapping(8)  # commands go to devices, not to a log
    assert stream(3) == "FLEET_P3"
    assert stream_subjects(3) == ["fleet.3.>"]
    assert entry(9, "fleet.3.h1.car.state", b"{}").home == "h1"
