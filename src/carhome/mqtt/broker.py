"""The built-in MQTT broker: the NATS server, run by the hub as a supervised child process.

``EmbeddedBroker`` is an async context manager. Entering it finds and checks the pinned
``nats-server`` (``nats.find_server``, ``nats.check_server``), writes its config into the
hub's data directory (``nats/nats.conf``, mode 0600: it holds the passwords) from the
MQTT ``Credentials`` — one NATS user per identity, each ACL rule a permission — and
starts the server with JetStream in the same directory; it returns once the server says
it is ready. Leaving it stops the server.

While it is open:

- the server dies with the hub: the child asks the kernel for SIGTERM when its parent
  goes (``PR_SET_PDEATHSIG``), so not even a kill -9 of the hub leaves it running;
- if the server dies on its own, it is started again with backoff on ``clock`` (the hub's;
  the real one if none is given) (``stats.restarts``);
- every line it logs goes through carhome's logging (logger ``carhome.nats``), at its
  own level; what it refused — a login, a publish or a subscription outside the ACL — is
  counted in ``stats``, logged once per cause, and handed to ``on_refusal`` (the hub
  records it with its rejections);
- ``reload(credentials)`` writes the new users and permissions and has the server reload
  them (SIGHUP): a removed identity is disconnected, a new one gets in, without a restart.

The server speaks MQTT 3.1.1 (and NATS on a loopback port it picks, for nobody but the
same users). A message larger than ``max_payload`` is refused.

It runs Go code on ``threads`` OS threads (``GOMAXPROCS``; one by default). The hub's event
loop needs a core of its own, and one home's traffic needs far less than a core; with more
threads each QoS 1 message is handed between threads as it goes from the publisher's
connection to JetStream to the consumer, and that costs more CPU than it saves. Measured
with W2 (``bench/w2.py --broker nats --qos 1``, 2 cores): the server's CPU per message
33–36 µs with the Go default (one thread a core), 19–22 µs with one thread, once the hub
is behind the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import msgspec

from carhome import ports
from carhome.backoff import Backoff
from carhome.clock import Clock, SystemClock
from carhome.errors import BrokerUnavailable, ConfigError
from carhome.files import write_atomically
from carhome.mqtt.credentials import Credentials
from carhome.mqtt.nats import (
    MAX_PAYLOAD,
    LogLine,
    Refusal,
    check_server,
    find_server,
    server_config,
)
from carhome.private import private_dir

log: Final = logging.getLogger(__name__)
server_log: Final = logging.getLogger("carhome.nats")
"""The NATS server's own log lines, at their own levels."""

DIRECTORY: Final = "nats"
"""The broker's directory in the hub's data directory: config, pid file, JetStream."""

_READY: Final = "Server is ready"
_RELOADED: Final = "Reloaded server configuration"
# NATS warns of plaintext passwords in its config on every start. The file is 0600 like
# the credentials file it is made from, and the passwords are random 256-bit secrets
# (bcrypt would only cost CPU on every connect): said once at DEBUG.
_QUIET: Final = ("Plaintext passwords detected",)
_TAIL: Final = 5  # warnings and errors kept to explain a failed start
_PR_SET_PDEATHSIG: Final = 1


class BrokerStats(msgspec.Struct):
    """What the built-in broker refused since it started, and how often it was restarted."""

    refused_connections: int = 0
    """CONNECTs refused: anonymous, unknown user, wrong password."""
    denied_publishes: int = 0
    """PUBLISHes dropped because the client may not publish to that topic."""
    denied_subscriptions: int = 0
    """Topic filters refused (SUBACK 0x80)."""
    oversized: int = 0
    """Messages refused for being larger than ``max_payload`` (the client is disconnected)."""
    restarts: int = 0
    """Times the server died on its own and was started again."""


class EmbeddedBroker:
    """The NATS server's MQTT listener on ``host:port`` for as long as the context is open."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = ports.BROKER,
        *,
        data_dir: Path,
        credentials: Credentials | None = None,
        max_payload: int = MAX_PAYLOAD,
        on_refusal: Callable[[Refusal], None] | None = None,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        start_timeout: float = 30.0,
        threads: int = 1,
    ) -> None:
        if not 0 < port < 65536:
            raise ConfigError(f"broker port {port} is out of range; use 1-65535")
        if not host or ":" in host:
            raise ConfigError(f"broker host {host!r} is not valid; use an IPv4 address or a name")
        if threads < 1:
            raise ConfigError(f"broker threads {threads} is out of range; use 1 or more")
        self.host = host
        self.threads = threads
        self.port = port
        self.credentials = credentials
        self.max_payload = max_payload
        self.stats = BrokerStats()
        self.directory = Path(data_dir) / DIRECTORY
        self._on_refusal = on_refusal
        self._backoff = backoff or Backoff(first=0.5, most=30.0)
        self._clock: Clock = clock or SystemClock()
        self._start_timeout = start_timeout
        self._binary: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=_TAIL)
        self._seen: set[tuple[str, str, str]] = set()
        self._ready = asyncio.Event()
        self._reloaded = asyncio.Event()
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        """The URL clients connect to (``mqtt://host:port``)."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def pid_file(self) -> Path:
        """Where the server writes its process id (read by tests and by people)."""
        return self.directory / "nats-server.pid"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def up(self) -> bool:
        """Whether the server runs and has said it is ready."""
        return self.pid is not None and self._ready.is_set()

    def trouble(self) -> str | None:
        """Why the broker cannot serve now (for the hub's health), or ``None`` while it runs."""
        if self.up:
            return None
        return f"the built-in MQTT broker (nats-server) on {self.url} is not running; it is being restarted"

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._binary = find_server()
        version = await check_server(self._binary)
        await self._end_left_behind()
        await self._start()
        self._supervisor = asyncio.create_task(self._supervise(), name="nats-server-supervisor")
        who = "anyone may connect" if self.credentials is None else f"{len(self.credentials)} identities"
        log.info("built-in MQTT broker (nats-server %s) listening on %s (%s)", version, self.url, who)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._stop()

    async def _start(self) -> None:
        """Write the config and start the server; ``BrokerUnavailable`` if it does not get ready."""
        assert self._binary is not None  # set by __aenter__ before any start
        private_dir(self.directory)
        await asyncio.to_thread(self._write_config)  # fsynced: off the event loop
        self._ready.clear()
        self._tail.clear()
        try:
            process = await asyncio.create_subprocess_exec(
                str(self._binary),
                "-c",
                str(self.config_file.resolve()),  # as _end_left_behind finds it
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "GOMAXPROCS": str(self.threads)},
                # Its own session: a Ctrl-C in the hub's terminal stops the hub, which then
                # stops the server in order, rather than both at once.
                start_new_session=True,
                preexec_fn=die_with_parent(),  # only a prctl call, set up before the fork
                umask=0o077,  # its JetStream files hold the home's messages: its owner's alone
            )
        except OSError as exc:
            raise BrokerUnavailable(f"cannot start {self._binary}: {exc}") from exc
        self._process = process
        assert process.stderr is not None  # stderr=PIPE
        self._reader = asyncio.create_task(self._read(process.stderr), name="nats-server-log")
        ready = asyncio.ensure_future(self._ready.wait())
        exited = asyncio.ensure_future(process.wait())
        try:
            await asyncio.wait(
                {ready, exited}, timeout=self._start_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            exited.cancel()
        if not self._ready.is_set():
            await self._stop()
            said = "; ".join(self._tail) or "nothing"
            raise BrokerUnavailable(
                f"the built-in MQTT broker (nats-server) did not start on {self.host}:{self.port}:"
                f" {said}. If the port is taken, choose another one (mqtt.builtin.port)"
            )

    async def _end_left_behind(self) -> None:
        """End the server a killed hub left behind on this data directory, and wait until it is gone.

        The server dies with the hub, but on a SIGTERM of its own (``die_with_parent``): it
        shuts down in order, holding the port and its JetStream store meanwhile. A hub that
        restarts at once (a supervisor, a test) would find the port taken, or two servers on
        one store. The pid file names the old server; if that process is a nats-server run
        with this directory's config, it has ``_LEFT_BEHIND_GRACE`` seconds to finish, then
        it is killed.
        """
        pid = _server_left_behind(self.pid_file, self.config_file.resolve())
        if pid is None:
            return
        try:
            handle = os.pidfd_open(pid)
        except OSError:
            return  # gone meanwhile
        gone = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()

        def exited() -> None:  # its pidfd turns readable once it exited
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(handle, exited)
        try:
            log.warning(
                "a nats-server (pid %d) left by an earlier hub still runs on %s; waiting for it to end",
                pid,
                self.url,
            )
            # Real seconds, not the hub's clock: a process takes real time to end.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(gone), _LEFT_BEHIND_GRACE)
            if not gone.done():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # its state is on disk: a crash is what it recovers from
                try:
                    await asyncio.wait_for(gone, 10)
                except TimeoutError:
                    raise BrokerUnavailable(
                        f"the nats-server (pid {pid}) of an earlier hub on {self.directory} did not end"
                        " within 10 s of SIGKILL; end it, then start the hub again"
                    ) from None
        finally:
            loop.remove_reader(handle)
            os.close(handle)

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                # Real seconds, not the hub's clock: a process takes real time to stop.
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                log.warning("nats-server (pid %d) did not stop within 10 s; killing it", process.pid)
                process.kill()
                await process.wait()
        reader, self._reader = self._reader, None
        if reader is not None:
            # the server is gone, so its stderr ends: the reader finishes with it
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(reader, 10)
        self._ready.clear()

    async def _supervise(self) -> None:
        """Start the server again, with backoff, whenever it dies on its own."""
        while True:
            process = self._process
            if process is not None:
                code = await process.wait()
                if self._reader is not None:
                    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                        await asyncio.wait_for(self._reader, 5)
                self._ready.clear()
                said = "; ".join(list(self._tail)[-3:]) or "nothing"
                log.error(
                    "the built-in MQTT broker (nats-server) exited with code %s (it said: %s); restarting it",
                    code,
                    said,
                )
            for attempt, delay in enumerate(self._backoff.delays(), start=1):
                await self._clock.sleep(delay)
                try:
                    await self._start()
                except BrokerUnavailable as exc:
                    log.log(logging.ERROR if attempt == 1 else logging.DEBUG, "restart failed: %s", exc)
                    continue
                break
            self.stats.restarts += 1
            self._changed.set()
            log.warning("the built-in MQTT broker was restarted (%d so far)", self.stats.restarts)

    # -- configuration ----------------------------------------------------------------------

    def _write_config(self) -> None:
        write_atomically(
            self.config_file,
            server_config(
                host=self.host,
                port=self.port,
                store_dir=self.directory.resolve(),
                credentials=self.credentials,
                max_payload=self.max_payload,
                pid_file=self.pid_file.resolve(),
            ),
        )

    async def reload(self, credentials: Credentials, *, timeout: float = 10.0) -> None:
        """Let in ``credentials``' identities with their rules from now on, without a restart.

        The server drops the connections of identities that are gone and applies changed
        permissions to live ones. ``BrokerUnavailable`` if it is down or does not confirm.
        """
        self.credentials = credentials
        await asyncio.to_thread(self._write_config)
        process = self._process
        if process is None or process.returncode is not None:
            raise BrokerUnavailable(
                "the built-in MQTT broker is not running; it takes the new identities when it restarts"
            )
        self._reloaded.clear()
        process.send_signal(signal.SIGHUP)
        try:
            await asyncio.wait_for(self._reloaded.wait(), timeout)
        except TimeoutError:
            raise BrokerUnavailable(
                f"the built-in MQTT broker did not confirm the new identities within {timeout} s; see its log"
            ) from None
        log.info("built-in MQTT broker reloaded: %d identities", len(credentials))

    # -- the log ---------------------------------------------------------------------------

    async def _read(self, stderr: asyncio.StreamReader) -> None:
        while raw := await stderr.readline():
            self._take(LogLine.parse(raw.decode(errors="replace")))

    def _take(self, line: LogLine) -> None:
        if line.refusal is not None:
            self._count(line.refusal)
            return
        level = logging.DEBUG if line.text.startswith(_QUIET) else line.level
        if level >= logging.WARNING:
            self._tail.append(line.text)
        server_log.log(level, "%s", line.text)
        if line.text == _READY:
            self._ready.set()
        elif line.text.startswith(_RELOADED):
            self._reloaded.set()

    def _count(self, refusal: Refusal) -> None:
        stats = self.stats
        if refusal.kind == "login":
            stats.refused_connections += 1
        elif refusal.kind == "publish":
            stats.denied_publishes += 1
        elif refusal.kind == "oversize":
            stats.oversized += 1
        else:
            stats.denied_subscriptions += 1
        cause = (refusal.kind, refusal.client, refusal.topic)
        # Once at WARNING per cause, then DEBUG: a device retrying forever must not flood the log.
        level = logging.DEBUG if cause in self._seen else logging.WARNING
        if len(self._seen) < 10_000:
            self._seen.add(cause)
        log.log(level, "%s", refusal.reason)
        if self._on_refusal is not None:
            self._on_refusal(refusal)
        self._changed.set()

    async def wait_stats(self, done: Callable[[BrokerStats], bool], timeout: float = 10.0) -> BrokerStats:
        """Wait until ``done(stats)`` holds (the server reports refusals in its log, a moment
        after the client was told; a restart counts once the server is ready again);
        ``TimeoutError`` after ``timeout`` seconds."""

        async def until() -> None:
            while not done(self.stats):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.stats


_LEFT_BEHIND_GRACE: Final = 5.0
"""Real seconds a server left by a killed hub has to finish its shutdown before it is killed."""


def _server_left_behind(pid_file: Path, config: Path) -> int | None:
    """The pid of the nats-server named by ``pid_file`` if it still runs with ``config``, else ``None``."""
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None  # no pid file, or that server is gone
    if Path(os.fsdecode(command[0])).name != "nats-server" or os.fsencode(config) not in command:
        return None  # the pid was reused by another process: not ours to end
    return pid


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """What the child runs between fork and exec: ask the kernel for ``sig`` when the hub
    dies (Linux's PR_SET_PDEATHSIG), and leave at once if it already has."""
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, in the parent: the child only makes the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the hub died before the call: nobody would stop us
            os._exit(1)

    return in_child
