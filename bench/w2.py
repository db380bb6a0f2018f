"""W2 — car × home automations over MQTT, end to end (see shared/WORKLOADS.md).

Three processes around one broker (the NATS server the hub runs, or Mosquitto from PATH),
each on a free loopback port:

- the **publisher** sends the W1 stream as the cars' ``state`` messages, one change per
  message (``carhome/h{n}/car/state``, ``{"<property>": value}``), as fast as gmqtt takes them;
- the **hub** (this process) is a real ``Hub`` with the MQTT connector and the automation
  engine, three automations per home as in W1, each firing sends its commands over MQTT;
- the **devices** take every ``cmd`` and acknowledge it on ``ack`` at once.

The car reports ``place`` and ``distance_to_home`` itself here (its telematics box says
where it is), so its spec is the car's with those two not derived: the stream's changes go
over the wire as they are, and the hub checks each as it would any reported value.

First the same messages go through the same broker to a bare gmqtt subscriber in this
process (``raw_msgs_per_s``), then through the hub (``msgs_per_s``: from the first publish
until the hub has taken the last message). Every firing must reach the devices: ``soc``
turns on d8, ``near`` d9, ``arrive`` d0 and d1 (counted at d0). Latency is from the publish
of the firing change to the device receiving the command (both processes read the same
monotonic clock). The run ends when every expected firing arrived or ``--bound`` seconds
passed after the last message; what arrived is reported either way. One JSON line.

Each run also says where the CPU went, in µs per message: ``cpu_us_per_msg`` (hub, broker,
publisher, devices) and ``raw_cpu_us_per_msg`` (broker, publisher, subscriber). On a machine
whose cores all these processes share, the ratio follows the two sums.

    .venv/bin/python bench/w2.py --broker nats --homes 100 --updates 20000 --qos 1
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import gmqtt
import msgspec
from gmqtt.mqtt.constants import MQTTv311

from loopback import free_port, mosquitto
from readings import cpu_seconds, percentile, rss_mb
from w1_signals import LIGHTS, SIGNALS, automations, generator

# which device each automation's command reaches first: the firing is counted there
FIRST_DEVICE = {"soc": "d8", "near": "d9", "arrive": "d0"}
COMMANDS = {"soc": 1, "near": 1, "arrive": 2}
CAR_TYPE = "w2car"

TEMPLATE = automations(
    soc=["{action: command, device: d8, name: turn_on}"],
    arrive=["{action: command, device: [d0, d1], name: turn_on}"],
    near=["{action: command, device: d9, name: turn_on}"],
)


@contextlib.asynccontextmanager
async def nats_broker(directory: Path, threads: int) -> AsyncIterator[tuple[int, int]]:
    from carhome.mqtt import EmbeddedBroker  # noqa: PLC0415 - only the hub process needs it

    async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=directory, threads=threads) as broker:
        assert broker.pid is not None
        yield broker.port, broker.pid


@contextlib.asynccontextmanager
async def mosquitto_broker(directory: Path, _: int) -> AsyncIterator[tuple[int, int]]:
    # Debian puts it in /usr/sbin, which is not on every user's PATH
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if binary is None:
        sys.exit("w2: mosquitto is not on PATH; install it (Debian: mosquitto) or use --broker nats")
    async with mosquitto(binary, directory, cap_inflight=False) as listening:
        yield listening


# -- the publisher process -------------------------------------------------------------------


def _read(path: str | Path) -> Any:
    return msgspec.json.decode(Path(path).read_bytes())


def _write(path: str | Path, value: object) -> None:
    Path(path).write_bytes(msgspec.json.encode(value))


async def publisher(args: argparse.Namespace) -> None:
    rows = _read(args.stream)
    encode = msgspec.json.encode
    messages = [
        (f"carhome/h{h}/car/state", encode({SIGNALS[sig]: value}), None if fires is None else (h, fires))
        for h, sig, value, fires in rows
    ]
    client = gmqtt.Client(f"w2-pub-{os.getpid()}")
    await client.connect("127.0.0.1", args.port, version=MQTTv311)
    fired: list[tuple[int, str, int]] = []
    now = time.monotonic_ns
    publish = client.publish
    qos = args.qos
    cpu_first = time.process_time()
    t_first = now()
    for i, (topic, payload, firing) in enumerate(messages):
        if firing is not None:
            fired.append((*firing, now()))
        publish(topic, payload, qos=qos)
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the transport drain
    t_last = now()
    _write(args.out, {"t_first": t_first, "t_last": t_last, "fired": fired, "cpu_first": cpu_first})
    print("published", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until told to stop
    await client.disconnect()


# -- the devices process ---------------------------------------------------------------------


async def devices(args: argparse.Namespace) -> None:
    received: list[tuple[str, str, int]] = []
    now = time.monotonic_ns
    decode = msgspec.json.Decoder(dict[str, Any]).decode
    encode = msgspec.json.encode
    expected = args.expected
    client = gmqtt.Client(f"w2-devices-{os.getpid()}")

    def on_message(_: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        t = now()
        _, home, device, _ = topic.split("/")
        received.append((home, device, t))
        command = decode(payload)
        client.publish(
            f"carhome/{home}/{device}/ack", encode({"id": command["id"], "status": "acked"}), qos=1
        )
        if len(received) == expected:
            print("all", flush=True)
        return 0

    subscribed = asyncio.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    await client.connect("127.0.0.1", args.port, version=MQTTv311)
    client.subscribe("carhome/+/+/cmd", qos=1)
    await asyncio.wait_for(subscribed.wait(), 10)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until told to stop
    _write(args.out, received)
    await client.disconnect()


# -- the hub process (the coordinator) -------------------------------------------------------


async def _spawn(role: str, args: argparse.Namespace, port: int, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--role",
        role,
        "--port",
        str(port),
        "--qos",
        str(args.qos),
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _publisher(
    args: argparse.Namespace, port: int, work: Path, out: Path
) -> asyncio.subprocess.Process:
    return await _spawn("publisher", args, port, "--stream", str(work / "stream.json"), "--out", str(out))


async def _line(process: asyncio.subprocess.Process, want: str, bound: float) -> bool:
    assert process.stdout is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(bound):
            while line := await process.stdout.readline():
                if line.decode().strip() == want:
                    return True
    return False


async def _stop(process: asyncio.subprocess.Process) -> None:
    assert process.stdin is not None
    process.stdin.write(b"stop\n")
    with contextlib.suppress(ConnectionError):
        await process.stdin.drain()
    await process.wait()


async def raw_run(
    args: argparse.Namespace, broker: tuple[int, int], work: Path, count: int
) -> tuple[float, dict[str, float]]:
    """The same messages through the same broker to a bare gmqtt subscriber: msg/s, and the
    CPU seconds of the broker, the publisher and the subscriber meanwhile."""
    port, broker_pid = broker
    got = 0
    last = 0
    done = asyncio.Event()

    def on_message(*_: Any) -> int:
        nonlocal got, last
        got += 1
        if got == count:
            last = time.monotonic_ns()
            done.set()
        return 0

    subscriber = gmqtt.Client(f"w2-raw-{os.getpid()}")
    subscriber.on_message = on_message
    subscribed = asyncio.Event()
    subscriber.on_subscribe = lambda *_: subscribed.set()
    await subscriber.connect("127.0.0.1", port, version=MQTTv311)
    subscriber.subscribe("carhome/+/+/state", qos=args.qos)
    await asyncio.wait_for(subscribed.wait(), 10)
    out = work / "raw.json"
    cpu0, broker_cpu0 = time.process_time(), cpu_seconds(broker_pid)
    pub = await _publisher(args, port, work, out)
    await _line(pub, "published", args.bound + 600)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.bound)
    cpu_s = {
        "broker": cpu_seconds(broker_pid) - broker_cpu0,
        "publisher": cpu_seconds(pub.pid) - _read(out)["cpu_first"],
        "subscriber": time.process_time() - cpu0,
    }
    await _stop(pub)
    await subscriber.disconnect()
    if got < count:
        print(f"w2: the bare subscriber got {got} of {count} messages", file=sys.stderr)
        return 0.0, cpu_s
    t_first = _read(out)["t_first"]
    return count / ((last - t_first) / 1e9), cpu_s


def _car_spec() -> Any:
    """The car's spec with ``place`` and ``distance_to_home`` reported, not derived."""
    from carhome.spec.devices import CAR  # noqa: PLC0415 - only the hub process needs it
    from carhome.spec.properties import DeviceSpec  # noqa: PLC0415

    return DeviceSpec(
        type=CAR_TYPE,
        title="Electric car that says where it is",
        category=CAR.category,
        properties={name: replace(p, derived=False) for name, p in CAR.properties.items()},
        actions=CAR.actions,
        events=CAR.events,
    )


def _build(hub: Any, homes: list[str]) -> None:
    """One car and ten lights per home, in the state the peer starts from."""
    from carhome.hub import Device, Home  # noqa: PLC0415 - only the hub process needs them

    own = _car_spec()
    start = {
        SIGNALS["soc"]: 80.0,
        SIGNALS["speed"]: 0.0,
        SIGNALS["odometer"]: 1000.0,
        SIGNALS["inside_temp"]: 20.0,
        "distance_to_home": 25.0,
        "place": "away",
    }
    for home in homes:
        hub.add_home_unsaved(Home(id=home, name=home, lat=39.79, lon=116.5))
        hub.add_device_unsaved(Device(home=home, id="car", type=CAR_TYPE), spec=own)
        for d in range(LIGHTS):
            hub.add_device_unsaved(Device(home=home, id=f"d{d}", type="light"))
        hub.report(home, "car", start)
        for d in range(LIGHTS):
            hub.report(home, f"d{d}", {"on": False})


def _latencies(work: Path) -> tuple[int, list[float], int]:
    """(firings, their latencies in ms sorted, commands) from the two processes' tables."""
    pending: dict[tuple[str, str], collections.deque[int]] = collections.defaultdict(collections.deque)
    for h, fires, t in _read(work / "hub.json")["fired"]:
        pending[(f"h{h}", FIRST_DEVICE[fires])].append(t)
    received = _read(work / "dev.json")
    latencies: list[float] = []
    firings = 0
    for home, device, t in received:
        if device in FIRST_DEVICE.values():
            firings += 1
            queue = pending.get((home, device))
            if queue:
                latencies.append((t - queue.popleft()) / 1e6)
    return firings, sorted(latencies), len(received)


async def _until_taken(stats: Any, count: int, bound: float) -> int:
    """Until the hub has taken ``count`` more state messages, or none came for ``bound`` s."""
    first = seen = stats.states
    quiet_since = time.monotonic()
    while stats.states - first < count and time.monotonic() - quiet_since < bound:
        await asyncio.sleep(0.002)
        if stats.states != seen:
            seen, quiet_since = stats.states, time.monotonic()
    return int(stats.states - first)


async def hub_run(
    args: argparse.Namespace, broker: tuple[int, int], work: Path, count: int
) -> dict[str, Any]:
    from carhome.automations import Engine  # noqa: PLC0415 - only the hub process needs them
    from carhome.connectors.mqtt import MqttConnector  # noqa: PLC0415
    from carhome.hub import Hub  # noqa: PLC0415
    from carhome.store import MemoryStore  # noqa: PLC0415

    port, broker_pid = broker
    homes = [f"h{h}" for h in range(args.homes)]
    fires = _read(work / "fires.json")
    commands = sum(COMMANDS[f] for f in fires if f is not None)
    async with Hub(store=MemoryStore(), persist_states=False) as hub:
        _build(hub, homes)
        # subscribed as the mqtt part does: on the built-in broker with one subscription
        link = MqttConnector(hub, f"mqtt://127.0.0.1:{port}", one_subscription=args.broker == "nats")
        async with Engine(hub) as engine, link as connector:
            errors = [
                e for home in homes for e in engine.load_text(TEMPLATE.format(home=home), f"<{home}.yaml>")
            ]
            if errors:
                sys.exit("\n".join(str(e) for e in errors[:10]))
            dev = await _spawn(
                "devices", args, port, "--expected", str(commands), "--out", str(work / "dev.json")
            )
            if not await _line(dev, "ready", 30):
                sys.exit("w2: the devices process did not subscribe")
            rss_start = rss_mb()
            profile = cProfile.Profile() if args.profile else None
            cpu0, broker_cpu0, dev_cpu0 = time.process_time(), cpu_seconds(broker_pid), cpu_seconds(dev.pid)
            taking = asyncio.ensure_future(_until_taken(connector.stats, count, args.bound))
            pub = await _publisher(args, port, work, work / "hub.json")
            if profile is not None:
                profile.enable()
            await _line(pub, "published", args.bound + 600)
            taken = await taking
            t_taken = time.monotonic_ns()
            cpu_s, broker_cpu_s = time.process_time() - cpu0, cpu_seconds(broker_pid) - broker_cpu0
            all_arrived = await _line(dev, "all", args.bound)
            await engine.idle()
            if profile is not None:
                profile.disable()
                profile.dump_stats(args.profile)
                pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile_top)
            others_cpu_s = {
                "publisher": cpu_seconds(pub.pid) - _read(work / "hub.json")["cpu_first"],
                "devices": cpu_seconds(dev.pid) - dev_cpu0,
            }
            await _stop(pub)
            await _stop(dev)
            rss_end = rss_mb()
            rejected = connector.stats.rejected + connector.stats.rejected_values
    firings, latencies, received = _latencies(work)
    elapsed = (t_taken - _read(work / "hub.json")["t_first"]) / 1e9
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {
        "msgs_per_s": round(taken / elapsed) if elapsed > 0 else 0,
        "taken": taken,
        "hub_cpu_us_per_msg": round(cpu_s / taken * 1e6, 1) if taken else None,
        "cpu_us_per_msg": {
            name: round(seconds / count * 1e6, 1)
            for name, seconds in {"hub": cpu_s, "broker": broker_cpu_s, **others_cpu_s}.items()
        },
        "rejected": rejected,
        "firings": firings,
        "all_arrived": all_arrived,
        "commands": received,
        "expected_commands": commands,
        "latency_ms_p50": None if p50 is None else round(p50, 3),
        "latency_ms_p99": None if p99 is None else round(p99, 3),
        "latency_ms_max": round(latencies[-1], 3) if latencies else None,
        "hub_rss_mb": round(rss_end, 1),
        "hub_rss_after_start_mb": round(rss_start, 1),
    }


async def coordinate(args: argparse.Namespace) -> dict[str, Any]:
    changes, expected = generator().generate(args.homes, args.updates, args.fire_ratio, args.seed)
    expected = int(expected)
    with tempfile.TemporaryDirectory(prefix="w2_") as directory:
        work = Path(directory)
        _write(work / "stream.json", changes)
        _write(work / "fires.json", [fires for *_, fires in changes])
        broker = nats_broker if args.broker == "nats" else mosquitto_broker
        (work / "broker").mkdir()
        async with broker(work / "broker", args.broker_threads) as listening:
            runs = []
            for _ in range(args.runs):  # interleaved: a load that comes and goes hits both
                raw, raw_cpu_s = await raw_run(args, listening, work, len(changes))
                result = await hub_run(args, listening, work, len(changes))
                result["raw_msgs_per_s"] = round(raw)
                result["raw_cpu_us_per_msg"] = {
                    name: round(seconds / len(changes) * 1e6, 1) for name, seconds in raw_cpu_s.items()
                }
                result["ratio_to_raw"] = round(result["msgs_per_s"] / raw, 3) if raw else 0.0
                runs.append(result)
    # the run of the median ratio is reported; every run's rates are listed beside it
    median = sorted(runs, key=lambda r: r["ratio_to_raw"])[len(runs) // 2]
    summary = [
        {
            k: r[k]
            for k in (
                "msgs_per_s",
                "raw_msgs_per_s",
                "ratio_to_raw",
                "firings",
                "hub_cpu_us_per_msg",
                "cpu_us_per_msg",
                "raw_cpu_us_per_msg",
            )
        }
        for r in runs
    ]
    return {
        "bench": "carhome_w2",
        "broker": args.broker,
        "broker_threads": args.broker_threads if args.broker == "nats" else None,
        "qos": args.qos,
        "homes": args.homes,
        "updates": len(changes),
        "msgs_per_s": median.pop("msgs_per_s"),
        "raw_msgs_per_s": median.pop("raw_msgs_per_s"),
        "ratio_to_raw": median.pop("ratio_to_raw"),
        "firings": median.pop("firings"),
        "expected_firings": expected,
        **median,
        "runs": summary,
        "every_firing_in_every_run": all(r["firings"] == expected for r in summary),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--broker", choices=("nats", "mosquitto"), default="nats")
    p.add_argument(
        "--broker-threads", type=int, default=1, help="the NATS server's threads (mqtt.builtin.threads)"
    )
    p.add_argument("--homes", type=int, default=100)
    p.add_argument("--updates", type=int, default=20_000)
    p.add_argument("--qos", type=int, choices=(0, 1), default=0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fire-ratio", type=float, default=0.05)
    p.add_argument(
        "--runs", type=int, default=3, help="raw and hub runs, interleaved; the median is reported"
    )
    p.add_argument("--bound", type=float, default=30.0, help="seconds to wait once nothing more arrives")
    p.add_argument("--profile", help="write a cProfile of the hub process's ingest here")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--role", choices=("hub", "publisher", "devices"), default="hub", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--stream", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    run_role(p.parse_args(), publisher, devices, coordinate)


def run_role(
    args: argparse.Namespace,
    publisher: Callable[[argparse.Namespace], Coroutine[Any, Any, None]],
    devices: Callable[[argparse.Namespace], Coroutine[Any, Any, None]],
    coordinate: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
) -> None:
    """Run the process as ``args.role`` says: the publisher or the devices the coordinator
    spawned, or else the coordinator, which prints what it measured as one JSON line."""
    if args.role == "publisher":
        asyncio.run(publisher(args))
    elif args.role == "devices":
        asyncio.run(devices(args))
    else:
        print(json.dumps(asyncio.run(coordinate(args))))


if __name__ == "__main__":
    main()
