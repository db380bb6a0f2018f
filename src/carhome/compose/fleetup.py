"""A fleet on one machine: ``carhome fleet up``, and what ``fleet status`` and ``fleet kill-worker`` read.

``FleetUp`` composes a whole fleet of child processes for people to try and for tests:

- a **NATS cluster** of three servers (``carhome.fleet.cluster.NatsCluster``) whose users
  are the devices' MQTT identities (one per device, from carhome's ACL table), with the
  partition streams (``ensure_streams``);
- a **throwaway PostgreSQL** (``PgServer``): its own ``initdb`` in a temporary directory,
  ``postgres`` run as a child process (not through ``pg_ctl``, which detaches it), so it dies
  with ``fleet up`` even on SIGKILL;
- the fleet's **homes** written into PostgreSQL (each a car and a wallbox or a light), and
  an owner of the first home with a random password;
- **K workers**, each ``carhome worker --config DIR/worker-<n>.yaml`` as a child process with
  its ``fleet:`` section (the workers' NATS user and password), logging to
  ``DIR/worker-<n>.log``;
- an **API node** (``carhome api``, ``DIR/api-1.yaml``): the REST API and the web app for
  every home, on a free loopback port;
- the **simulated homes** (``carhome.sim.fleet.FleetSimulator``) in this process.

Every child asks the kernel for a signal when ``fleet up`` dies (``PR_SET_PDEATHSIG``, as the
embedded broker's server does: SIGTERM for the NATS servers, a fast shutdown for PostgreSQL,
SIGKILL for the workers and the API node, whose graceful stop waits on the servers that die
with them), so none outlives it, kill -9 included. What was started is
recorded in ``DIR/fleet.json`` (mode 0600: it holds the workers' NATS password) for the other
two commands; ``DIR/simulator.json`` holds the simulator's last published states
(``SimulatorReport``), rewritten every few seconds and once more when its stream is done
(``done``), for ``fleet status`` to compare with what the fleet holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import asyncpg
import msgspec
from nats.aio.client import Client

from carhome.access.members import Member
from carhome.access.passwords import Passwords
from carhome.access.postgres import PostgresMemberStore, open_tables
from carhome.clock import Clock, SystemClock
from carhome.errors import BrokerUnavailable, CarhomeError, ConfigError, StoreError
from carhome.files import write_atomically
from carhome.fleet.cluster import Login, NatsCluster, free_ports
from carhome.fleet.jetstream import JetStreamLog, connect, ensure_streams
from carhome.fleet.log import partition_of, stream
from carhome.fleet.membership import holders, live
from carhome.fleet.partitions import Partition, Partitions
from carhome.hub.model import Device, Home
from carhome.hub.persistence import StateRow
from carhome.mqtt.broker import die_with_parent
from carhome.mqtt.credentials import Credentials, DeviceIdentity
from carhome.mqtt.malformed import MalformedMessage
from carhome.mqtt.payloads import decode_state
from carhome.pgdatabase import PgDatabase
from carhome.private import private_dir
from carhome.signing.roles import Role
from carhome.sim.fleet import FleetSimulator, SimulatedDevice, SimulatorReport, car_random, home_position
from carhome.store.postgres import PostgresStore

log: Final = logging.getLogger(__name__)

STATE_FILE: Final = "fleet.json"
SIMULATOR_FILE: Final = "simulator.json"
OWNER: Final = "owner"
PG_USER: Final = "carhome"
API_NODE: Final = "api-1"
API_START: Final = 60.0
"""Seconds the API node may take to serve."""
_SERVING: Final = f"API node {API_NODE} serving"
STOP_WAIT: Final = 15.0
"""Seconds a worker or the database is given to stop on SIGTERM before it is killed."""


# -- the state file ------------------------------------------------------------------------


class WorkerRecord(msgspec.Struct, frozen=True):
    number: int
    id: str
    pid: int
    config: str
    log: str


class FleetState(msgspec.Struct, frozen=True, kw_only=True):
    """What ``fleet up`` started, for ``fleet status`` and ``fleet kill-worker``."""

    pid: int
    homes: int
    partitions: int
    nats_urls: list[str]
    mqtt_urls: list[str]
    database: str
    nats_user: str
    nats_password: str = msgspec.field(default="")
    workers: list[WorkerRecord] = msgspec.field(default_factory=list)
    children: list[int] = msgspec.field(default_factory=list)
    """Every child process's pid (servers, database, workers)."""
    owner: str = OWNER
    owner_home: str = ""
    owner_password: str = ""
    api: str = ""
    postgres_dir: str = ""
    connect_s: float = 0.0
    started_s: float = 0.0
    phases: dict[str, float] = msgspec.field(default_factory=dict)
    """Seconds each part of the start took."""

    def __repr__(self) -> str:
        return f"FleetState(pid={self.pid}, homes={self.homes}, workers={len(self.workers)})"


def read_state(directory: Path) -> FleetState:
    """The fleet ``fleet up --dir directory`` runs; ``ConfigError`` saying how to start one if none."""
    path = Path(directory) / STATE_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=FleetState)
    except FileNotFoundError:
        raise ConfigError(
            f"no fleet runs in {directory} (no {STATE_FILE}); start one: carhome fleet up --dir {directory}"
        ) from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: {exc}; stop the fleet and start it again") from None


def _write_json(path: Path, value: object) -> None:
    write_atomically(path, msgspec.json.format(msgspec.json.encode(value)) + b"\n")
    path.chmod(0o600)


# -- a throwaway PostgreSQL run as a child process -------------------------------------------


def _pg_bindir() -> Path:
    """PostgreSQL's server programs (``pg_config --bindir``, else the newest Debian version)."""
    found = shutil.which("pg_config")
    candidates: list[Path] = []
    if found is not None:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            done = subprocess.run([found, "--bindir"], check=True, capture_output=True, text=True)  # noqa: S603
            candidates.append(Path(done.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(
        (Path(p) for p in versions),
        key=lambda p: tuple(int(x) for x in p.parent.name.split(".") if x.isdigit()),
        reverse=True,
    )
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "postgres")):
            return candidate
    raise StoreError(
        "no PostgreSQL server programs (initdb, postgres) found: install PostgreSQL"
        " (Debian: apt-get install postgresql) or put pg_config on PATH"
    )


def _unprivileged() -> str | None:
    """The user PostgreSQL runs as when we are root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return user
    raise StoreError("running as root with neither a postgres nor a nobody user to run PostgreSQL as")


class PgServer:
    """A PostgreSQL cluster made in a fresh temporary directory and run as a child process
    that dies with this one; removed on exit. ``url`` is its ``postgres`` database."""

    def __init__(self, *, start_timeout: float = 60.0) -> None:
        self._start_timeout = start_timeout
        self.directory: Path | None = None
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop()

    async def _start(self) -> None:
        binaries = _pg_bindir()
        user = _unprivileged()
        self.directory = Path(tempfile.mkdtemp(prefix="carhome-fleet-pg-"))
        if user is not None:
            account = pwd.getpwnam(user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        data = self.directory / "data"
        initdb = await asyncio.create_subprocess_exec(
            str(binaries / "initdb"),
            *("-D", str(data), "-U", PG_USER, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            user=user,
            cwd=self.directory,
        )
        said, _ = await initdb.communicate()
        if initdb.returncode != 0:
            raise StoreError(f"initdb failed ({initdb.returncode}): {said.decode(errors='replace').strip()}")
        (self.port,) = free_ports(1)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "max_connections": "200",
        }
        with (self.directory / "postgres.log").open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(binaries / "postgres"),
                "-D",
                str(data),
                *(a for k, v in settings.items() for a in ("-c", f"{k}={v}")),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                user=user,
                cwd=self.directory,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),  # a fast shutdown when fleet up dies
            )
        await self._until_accepting()

    async def _until_accepting(self) -> None:
        started = time.monotonic()  # real seconds: a server takes real time to start
        while True:
            assert self.process is not None  # started just before
            if self.process.returncode is not None:
                raise StoreError(
                    f"postgres exited at start ({self.process.returncode}); see {self.directory}/postgres.log"
                )
            try:
                conn = await asyncpg.connect(self.url, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if time.monotonic() - started > self._start_timeout:
                    raise StoreError(
                        f"PostgreSQL did not accept connections within {self._start_timeout} s;"
                        f" see {self.directory}/postgres.log"
                    ) from None
                await asyncio.sleep(0.1)
                continue
            await conn.close()
            return

    async def _stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            await _stop_process(process, signal.SIGINT)  # a fast shutdown: connections are cut
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


async def _stop_process(process: asyncio.subprocess.Process, sig: signal.Signals = signal.SIGTERM) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), STOP_WAIT)
        except TimeoutError:
            log.warning("pid %d did not stop within %.0f s; killing it", process.pid, STOP_WAIT)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# -- the homes -----------------------------------------------------------------------------


def home_id(n: int) -> str:
    return f"home-{n:05d}"


def fleet_devices(homes: int) -> list[Device]:
    """Each home's car, and a wallbox (even homes) or a light (odd homes)."""
    devices = []
    for n in range(homes):
        home = home_id(n)
        devices.append(Device(home=home, id="car", type="car", name="Car"))
        second = "wallbox" if n % 2 == 0 else "light"
        devices.append(Device(home=home, id=second, type=second, name=second.title()))
    return devices


async def write_homes(store: PostgresStore, homes: int, devices: list[Device], seed: int = 1) -> None:
    """The homes, each where the simulator's car of ``seed`` comes home to."""

    def home(n: int) -> Home:
        lat, lon = home_position(car_random(seed, home_id(n)))
        return Home(id=home_id(n), name=f"Home {n}", lat=lat, lon=lon, timezone="Europe/Berlin")

    await asyncio.gather(  # as many at once as the store's pool holds connections
        *(store.save_home(home(n)) for n in range(homes))
    )
    await store.save_devices(devices)


async def write_owner(database: PgDatabase, home: str) -> str:
    """The first home's owner, with a new random password (returned, printed once)."""
    password = secrets.token_urlsafe(12)
    hashed = await asyncio.to_thread(Passwords().hash, password)
    await open_tables(database)
    await PostgresMemberStore(database).save(
        Member(id=OWNER, home=home, name="Owner", role=Role.OWNER, password=hashed)
    )
    return password


def simulated(devices: list[Device], credentials: Credentials) -> list[SimulatedDevice]:
    """The simulator's devices, each logged in with its own identity."""
    identities = {i.username: i for i in credentials.identities if isinstance(i, DeviceIdentity)}
    return [
        SimulatedDevice(d.home, d.id, d.type, f"{d.home}/{d.id}", identities[f"{d.home}/{d.id}"].password)
        for d in devices
    ]


# -- the fleet -------------------------------------------------------------------------------


class _Phases:
    """Real seconds each part of the start took (what people wait for)."""

    def __init__(self) -> None:
        self.started = self.mark = time.monotonic()
        self.took: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        self.took[name] = round(now - self.mark, 2)
        self.mark = now

    def total(self) -> float:
        return round(time.monotonic() - self.started, 2)


class FleetUp:
    """A whole fleet on this machine for as long as ``run`` runs."""

    def __init__(
        self,
        directory: Path,
        *,
        homes: int,
        workers: int,
        partitions: int = 16,
        rounds: int = 60,
        every: float = 1.0,
        seed: int = 1,
        clock: Clock | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        if homes < 1 or workers < 1:
            raise ConfigError(f"a fleet needs at least one home and one worker, not {homes} and {workers}")
        self.directory = Path(directory).resolve()
        self.homes = homes
        self.workers = workers
        self.partitions = partitions
        self.rounds = rounds
        self.every = every
        self.seed = seed
        self.clock: Clock = clock or SystemClock()
        self._say = say
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._api: asyncio.subprocess.Process | None = None

    async def run(self, ended: asyncio.Event) -> None:
        """Start everything, say where it is, run until ``ended``, then stop everything."""
        phase = _Phases()
        self._forget_old()
        private_dir(self.directory)
        devices = fleet_devices(self.homes)
        credentials = Credentials.make((d.home, d.id) for d in devices)
        async with contextlib.AsyncExitStack() as stack:
            cluster = await stack.enter_async_context(
                NatsCluster(self.directory / "nats", partitions=self.partitions, credentials=credentials)
            )
            admin = await connect(cluster.nats_urls, cluster.admin, name="carhome-fleet-up")
            stack.push_async_callback(admin.close)
            phase("nats")
            await ensure_streams(admin.jetstream(), self.partitions, replicas=min(3, cluster.size))
            phase("streams")
            pg = await stack.enter_async_context(PgServer())
            phase("postgres")
            password = await self._fill(pg.url, devices)
            phase("homes")
            stack.push_async_callback(self._stop_children)
            workers = [await self._start_worker(n, cluster, pg.url) for n in range(1, self.workers + 1)]
            phase("workers")
            api, api_pid = await self._start_api(cluster, pg.url)
            phase("api")
            mqtt_ports = [cluster.mqtt_port(i) for i in range(cluster.size)]
            specs = simulated(devices, credentials)
            simulator = await stack.enter_async_context(
                FleetSimulator(specs, mqtt_ports, seed=self.seed, clock=self.clock)
            )
            phase("devices")
            children = [pid for i in range(cluster.size) if (pid := cluster.pid(i)) is not None]
            children += [pg.process.pid] if pg.process is not None else []
            children += [w.pid for w in workers] + [api_pid]
            state = FleetState(
                pid=os.getpid(),
                homes=self.homes,
                partitions=self.partitions,
                nats_urls=cluster.nats_urls,
                mqtt_urls=[f"mqtt://127.0.0.1:{p}" for p in mqtt_ports],
                database=pg.url,
                nats_user=cluster.worker.user,
                nats_password=cluster.worker.password,
                workers=workers,
                children=children,
                owner_home=home_id(0),
                owner_password=password,
                api=api,
                postgres_dir=str(pg.directory),
                connect_s=round(simulator.connected.seconds if simulator.connected else 0.0, 2),
                started_s=phase.total(),
                phases=phase.took,
            )
            _write_json(self.directory / STATE_FILE, state)
            stack.callback(self._forget)
            self._tell(state, len(specs))
            stream_done = asyncio.create_task(self._play(simulator))
            watch = asyncio.create_task(self._watch_workers(workers))
            try:
                await ended.wait()
            finally:
                for task in (stream_done, watch):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            self._say("fleet up: stopping")

    async def _fill(self, url: str, devices: list[Device]) -> str:
        """The fleet's partitions, homes, devices and owner in its new database; the owner's password."""
        async with PgDatabase(url) as database, PostgresStore(database) as store:
            await Partitions(database, self.partitions).create()
            await write_homes(store, self.homes, devices, self.seed)
            return await write_owner(database, home_id(0))

    def _forget_old(self) -> None:
        """A state file left by a ``fleet up`` that was killed: its database directory goes."""
        with contextlib.suppress(ConfigError):
            old = read_state(self.directory)
            alive = True
            try:
                os.kill(old.pid, 0)
            except ProcessLookupError:
                alive = False
            if alive and old.pid != os.getpid():
                raise ConfigError(
                    f"a fleet runs in {self.directory} already (pid {old.pid});"
                    " stop it, or give another --dir"
                )
            if old.postgres_dir.startswith(tempfile.gettempdir()):
                shutil.rmtree(old.postgres_dir, ignore_errors=True)
            (self.directory / STATE_FILE).unlink(missing_ok=True)
        (self.directory / SIMULATOR_FILE).unlink(missing_ok=True)

    def _forget(self) -> None:
        (self.directory / STATE_FILE).unlink(missing_ok=True)

    async def _play(self, simulator: FleetSimulator) -> None:
        path = self.directory / SIMULATOR_FILE
        saving = asyncio.create_task(simulator.saving(path))
        try:
            await simulator.run(self.rounds, self.every)
        except (TimeoutError, CarhomeError) as exc:  # said, not hidden until the fleet stops
            self._say(f"simulator: its stream stopped: {exc!r}; the fleet runs on without it")
            return
        finally:
            saving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saving
        simulator.save(path, done=True)
        self._say(f"simulator: {simulator.reports} reports PUBACKed; last states in {path}")

    async def _start_worker(self, number: int, cluster: NatsCluster, database: str) -> WorkerRecord:
        worker_id = f"worker-{number}"
        login = cluster.worker
        process, config, out = await self._child(
            "worker", worker_id, self._fleet(worker_id, cluster, login, database)
        )
        self._processes[number] = process
        return WorkerRecord(number=number, id=worker_id, pid=process.pid, config=str(config), log=str(out))

    def _fleet(self, name: str, cluster: NatsCluster, login: Login, database: str) -> dict[str, object]:
        """A child's ``fleet:`` section."""
        return {
            "database": database,
            "worker": name,
            "partitions": self.partitions,
            "heartbeat": 1.0,
            "idle_timeout": 5.0,
            "nats": cluster.nats_urls,
            "nats_user": login.user,
            "nats_password": login.password,
        }

    async def _child(
        self, role: str, name: str, fleet: dict[str, object], **sections: object
    ) -> tuple[asyncio.subprocess.Process, Path, Path]:
        """``carhome <role> --config DIR/<name>.yaml`` as a child process logging to
        ``DIR/<name>.log``; the process, its config and its log."""
        data = self.directory / name
        private_dir(data)
        config = self.directory / f"{name}.yaml"
        _write_json(config, {"hub": {"data_dir": str(data)}, **sections, "fleet": fleet})  # JSON is YAML
        out = self.directory / f"{name}.log"
        with out.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from carhome.cli.main import main; main()",
                role,
                "--config",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # a Ctrl-C reaches fleet up, which stops its children in order
                # killed when fleet up dies, kill -9 included: a worker told to stop (SIGTERM)
                # with its servers gone waits on them for ever
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        return process, config, out

    async def _start_api(self, cluster: NatsCluster, database: str) -> tuple[str, int]:
        """An API node (``carhome api``) on a free loopback port; its URL and pid once it serves."""
        (port,) = free_ports(1)
        fleet = self._fleet(API_NODE, cluster, cluster.api, database)
        process, _, out = await self._child("api", API_NODE, fleet, api={"host": "127.0.0.1", "port": port})
        self._api = process
        started = time.monotonic()  # real seconds: a process takes real time to start
        while _SERVING not in out.read_text(errors="replace"):
            if process.returncode is not None or time.monotonic() - started > API_START:
                tail = out.read_text(errors="replace")[-2000:]
                raise BrokerUnavailable(
                    f"the API node did not start within {API_START} s; its log ends: {tail}"
                )
            await asyncio.sleep(0.1)
        return f"http://127.0.0.1:{port}", process.pid

    async def _watch_workers(self, workers: list[WorkerRecord]) -> None:
        """Say when a worker ends (``fleet kill-worker``, a crash); it is not restarted."""

        async def one(record: WorkerRecord) -> None:
            code = await self._processes[record.number].wait()
            self._say(f"worker {record.number} ({record.id}, pid {record.pid}) ended: exit {code}")

        await asyncio.gather(*(one(w) for w in workers))

    async def _stop_children(self) -> None:
        await asyncio.gather(
            *(_stop_process(p) for p in [*self._processes.values(), *filter(None, [self._api])])
        )

    def _tell(self, state: FleetState, devices: int) -> None:
        say = self._say
        say(
            f"fleet up: {state.homes} homes ({devices} devices), {len(state.workers)} workers,"
            f" {state.partitions} partitions, started in {state.started_s} s"
        )
        say(f"  start:      {', '.join(f'{k} {v} s' for k, v in state.phases.items())}")
        say(f"  NATS:       {', '.join(state.nats_urls)}")
        say(f"  MQTT:       {', '.join(state.mqtt_urls)}")
        say(f"  PostgreSQL: {state.database}")
        say(f"  API:        {state.api} (the web app and the REST API; log in as the owner below)")
        say(f"  owner:      {state.owner} of {state.owner_home}, password {state.owner_password}")
        for w in state.workers:
            say(f"  worker {w.number}:   {w.id}, pid {w.pid}, log {w.log}")
        say(
            f"  devices connected in {state.connect_s} s; state in {self.directory / STATE_FILE};"
            " Ctrl-C stops it all"
        )


# -- fleet status and kill-worker ------------------------------------------------------------


class PartitionStatus(msgspec.Struct, frozen=True):
    partition: int
    holder: str | None
    epoch: int
    checkpoint: int
    homes: int
    last_seq: int | None = None
    behind: int | None = None


class WorkerStatus(msgspec.Struct, frozen=True):
    number: int | None
    id: str
    pid: int | None
    alive: bool
    partitions: list[int]


class StatesStatus(msgspec.Struct, frozen=True):
    """What the fleet holds of each device's last published state (the simulator's file)."""

    devices: int
    held: int
    """Devices whose last published values the fleet's states table holds (or newer ones)."""
    behind: int
    """Devices whose last values are in their partition's stream after its checkpoint: not applied yet."""
    lost: int | None
    """Devices whose last values the fleet does not hold although their partition's checkpoint
    passed them (None: the streams could not be read to tell them from those behind)."""
    lost_devices: list[str] = msgspec.field(default_factory=list)
    """The first few of them, ``home/device``."""
    done: bool = False
    """Whether the simulator's stream is over."""


class Status(msgspec.Struct, frozen=True):
    workers: list[WorkerStatus]
    partitions: list[PartitionStatus]
    unheld: list[int]
    states: StatesStatus | None = None


SAME_TS: Final = 1e-3
"""Seconds within which two ``ts`` of one value are the same report."""
LOST_SHOWN: Final = 10


async def status(
    state: FleetState, simulator: SimulatorReport | None = None, *, nats_timeout: float = 5.0
) -> Status:
    """The fleet's live workers and who holds which partition, read from PostgreSQL, and per
    partition how far its checkpoint is behind its stream (when the cluster answers).

    Given the simulator's last published states, it also says how many devices' last values
    the fleet holds, how many are still behind (in the stream after the partition's
    checkpoint) and how many are lost (the checkpoint passed them, and the states table has
    them not). The checkpoints are read before the states, and the streams after both, so a
    batch committed meanwhile makes nothing look lost."""
    async with PgDatabase(state.database, pool_size=1) as database, PostgresStore(database) as store:
        partitions = Partitions(database, state.partitions)
        space = await partitions.create()
        rows = await partitions.rows()
        home_ids = await store.home_ids()

        async def leases(conn: asyncpg.Connection) -> tuple[list[str], dict[int, str]]:
            return await live(conn, space), await holders(conn, space)

        members, held = await database.write("reading the fleet's leases", leases)
        stored = await store.states_in(home_ids) if simulator is not None else []
    homes = [0] * state.partitions
    for home in home_ids:
        homes[partition_of(home, state.partitions)] += 1
    async with _status_nats(state, nats_timeout) as nc:
        last = await _last_seqs(nc, state.partitions, nats_timeout)
        table = _partition_rows(rows, held, homes, last)
        states = None
        if simulator is not None:
            states = await _states(state, simulator, stored, table, nc=nc, timeout=nats_timeout)
    known = {w.id: w for w in state.workers}
    ids = sorted(set(members) | set(known))
    workers = [
        WorkerStatus(
            number=known[i].number if i in known else None,
            id=i,
            pid=known[i].pid if i in known else None,
            alive=i in members,
            partitions=sorted(p for p, h in held.items() if h == i),
        )
        for i in ids
    ]
    return Status(
        workers=workers,
        partitions=table,
        unheld=[r.partition for r in table if r.holder is None],
        states=states,
    )


def _partition_rows(
    rows: list[Partition], held: dict[int, str], homes: list[int], last: dict[int, int]
) -> list[PartitionStatus]:
    table = []
    for row in rows:
        seq = last.get(row.partition)
        table.append(
            PartitionStatus(
                partition=row.partition,
                holder=held.get(row.partition),
                epoch=row.epoch,
                checkpoint=row.checkpoint,
                homes=homes[row.partition],
                last_seq=seq,
                behind=None if seq is None else max(0, seq - row.checkpoint),
            )
        )
    return table


async def _states(
    state: FleetState,
    simulator: SimulatorReport,
    stored: list[StateRow],
    table: list[PartitionStatus],
    *,
    nc: Client | None,
    timeout: float,
) -> StatesStatus:
    """The simulator's last published values compared with the fleet's states table; those
    it lacks looked for in their partition's stream after its checkpoint."""
    rows = {(r.home, r.device, r.prop): r for r in stored}
    missing: dict[str, dict[str, float]] = {}  # home/device → prop → the ts the fleet lacks
    for name, values in simulator.last.items():
        home, device = name.split("/", 1)
        stamps = simulator.stamps.get(name, {})
        for prop, value in values.items():
            ts = stamps.get(prop, 0.0)
            row = rows.get((home, device, prop))
            if row is None or (row.value != value and row.ts < ts - SAME_TS):
                missing.setdefault(name, {})[prop] = ts
    by_partition: dict[int, set[str]] = {}
    for name in missing:
        by_partition.setdefault(partition_of(name.split("/", 1)[0], state.partitions), set()).add(name)
    pending = await _pending(nc, {p: table[p] for p in by_partition}, missing, timeout)
    behind = [n for n in missing if pending is not None and n in pending]
    lost = sorted(n for n in missing if pending is not None and n not in pending)
    return StatesStatus(
        devices=len(simulator.last),
        held=len(simulator.last) - len(missing),
        behind=len(behind) if pending is not None else len(missing),
        lost=len(lost) if pending is not None else None,
        lost_devices=lost[:LOST_SHOWN],
        done=simulator.done,
    )


async def _pending(
    nc: Client | None,
    partitions: dict[int, PartitionStatus],
    missing: dict[str, dict[str, float]],
    timeout: float,
) -> set[str] | None:
    """Of the ``missing`` devices' values, the devices all of whose values are in their
    partition's stream after its checkpoint (reports not applied yet); None if a stream
    could not be read."""
    if not partitions:
        return set()
    if nc is None:
        return None
    found: dict[str, set[str]] = {}
    reader = JetStreamLog(nc.jetstream(), batch=1024, idle=0.5)
    for p, row in partitions.items():
        if row.last_seq is None:
            return None
        if row.last_seq <= row.checkpoint:
            continue
        try:
            await asyncio.wait_for(_scan(reader, p, row, missing, found), timeout * 4)
        except TimeoutError:
            return None
    return {n for n, props in found.items() if props >= set(missing[n])}


async def _scan(
    reader: JetStreamLog,
    partition: int,
    row: PartitionStatus,
    missing: dict[str, dict[str, float]],
    found: dict[str, set[str]],
) -> None:
    assert row.last_seq is not None
    batches = reader.read(partition, row.checkpoint)
    try:
        async for batch in batches:
            for e in batch:
                wanted = missing.get(f"{e.home}/{e.device}") if e.kind == "state" else None
                if wanted is not None:
                    with contextlib.suppress(MalformedMessage):
                        values, ts = decode_state(e.payload)
                        found.setdefault(f"{e.home}/{e.device}", set()).update(
                            p for p in values if p in wanted and (ts or 0.0) >= wanted[p] - SAME_TS
                        )
            if batch[-1].seq >= row.last_seq:
                return
    finally:
        await batches.aclose()  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def _status_nats(state: FleetState, timeout: float) -> AsyncIterator[Client | None]:
    """One connection to the fleet's cluster for a status, or None if it does not answer
    in ``timeout`` (the status then says what it could not read)."""
    try:
        nc = await asyncio.wait_for(
            connect(
                state.nats_urls, Login(state.nats_user, state.nats_password), name="carhome-fleet-status"
            ),
            timeout,
        )
    except Exception:
        yield None
        return
    try:
        yield nc
    finally:
        await nc.close()


async def _last_seqs(nc: Client | None, partitions: int, timeout: float) -> dict[int, int]:
    if nc is None:
        return {}
    js = nc.jetstream()
    found = {}
    for p in range(partitions):
        with contextlib.suppress(Exception):
            info = await asyncio.wait_for(js.stream_info(stream(p)), timeout)
            found[p] = info.state.last_seq
    return found


def kill_worker(state: FleetState, number: int) -> WorkerRecord:
    """SIGKILL worker ``number`` of the fleet (a demonstration of failover)."""
    for record in state.workers:
        if record.number == number:
            try:
                os.kill(record.pid, signal.SIGKILL)
            except ProcessLookupError:
                raise ConfigError(f"worker {number} (pid {record.pid}) is not running any more") from None
            return record
    raise ConfigError(
        f"no worker {number}: this fleet has workers {', '.join(str(w.number) for w in state.workers)}"
    )


def read_simulator(directory: Path) -> SimulatorReport | None:
    """The simulator's state file of the fleet in ``directory``, if it wrote one yet."""
    path = Path(directory) / SIMULATOR_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=SimulatorReport)
    except FileNotFoundError:
        return None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path}: {exc}; stop the fleet and start it again") from None
