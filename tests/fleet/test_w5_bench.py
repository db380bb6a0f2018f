"""``bench/w5.py`` at a tiny size, so that the fleet benchmark cannot rot.

It runs every phase of the real benchmark (a NATS cluster of three, a throwaway PostgreSQL,
the publisher's cars over MQTT, ``carhome worker`` processes, a worker killed and one
stopped, W1's automations in the workers and a devices process acking their commands) over
24 homes and 600 messages, and checks its JSON line: every message in the streams and
committed in every phase, nothing lost, applied twice or accepted from a zombie, every
firing the stream makes executed once at the devices, in every phase.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "w5.py"
HOMES = 24
UPDATES = 600
PARTITIONS = 4
BOUND = 600.0  # seconds for the whole run: it starts a cluster, a database and eight workers


def test_w5_runs_every_phase_with_nothing_lost_twice_or_from_a_zombie() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--homes",
            str(HOMES),
            "--updates",
            str(UPDATES),
            "--partitions",
            str(PARTITIONS),
            "--heartbeat",
            "0.2",
            "--idle-timeout",
            "2",
            "--bound",
            "10",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    phases = line["phases"]
    print(
        f"w5 at {HOMES} homes: lost {line['lost']}, applied_twice {line['applied_twice']},"
        f" zombie_writes_accepted {line['zombie_writes_accepted']}, failover_s {line['failover_s']},"
        f" firings {line['firings']} of {line['expected_firings']},"
        f" commands_received_twice {line['commands_received_twice']}, executed_twice {line['executed_twice']}"
    )
    assert line["updates"] == UPDATES
    assert [p["state_messages"] for p in phases.values() if "state_messages" in p] == [UPDATES] * 2
    # the state messages and one ack for each command a device received
    assert [p["in_streams"] for p in phases.values()] == [
        UPDATES + p["command_receipts"] for p in phases.values()
    ]
    # every firing, once: the stream makes some in every phase, each executed once at its device
    for phase in phases.values():
        assert phase["expected_firings"] > 0
        assert phase["firings"] == phase["expected_firings"]
        assert phase["every_firing"] is True
        assert (phase["firings_missing"], phase["executed_twice"]) == (0, 0)
        assert phase["commands"] == phase["expected_commands"] == phase["commands_made"]
        assert phase["commands_open"] == 0
    assert line["every_firing"] is True
    assert line["firings"] == line["expected_firings"] == 4 * phases["1_worker"]["expected_firings"]
    assert phases["1_worker"]["shares"] == [PARTITIONS]
    assert sorted(phases["2_workers"]["shares"]) == [PARTITIONS // 2] * 2
    assert line["partition_balance"] == 1.0
    assert phases["kill_9"]["partitions_moved"] == phases["sigstop"]["partitions_moved"] == PARTITIONS // 2
    assert (line["lost"], line["applied_twice"], line["zombie_writes_accepted"]) == (0, 0, 0)
    for phase in phases.values():
        assert phase["entries_never_committed"] == 0
    assert line["failover_s"] < 10
    assert line["msgs_per_s_1_worker"] > 0
    assert line["msgs_per_s_2_workers"] > 0
    assert line["raw_msgs_per_s"] > 0
    # at this size the work per message is within the noise of the start-up subtracted from it
    assert isinstance(line["cpu_s_per_1k_msgs_1_worker"], float)
    assert isinstance(line["cpu_s_per_1k_msgs_2_workers"], float)
    assert phases["2_workers"]["startup_cpu_s"] > 0
