"""Brokers in processes of their own, which a test may stop, kill and start again.

``BrokerProcess`` is the one shape: ``start()`` returns once the broker accepts connections,
``stop()`` ends it with SIGTERM (a clean shutdown) or, with ``kill=True``, SIGKILL (a crash)
and waits for it to be gone, and ``start()`` again brings it back on the same port. Each
broker runs in a process group of its own and the whole group is signalled, so a broker that
supervises a child of its own (a built-in broker running a server binary) goes with it.
``Mosquitto`` is the real Mosquitto most tests talk to; the chaos tests add more kinds.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path
from typing import ClassVar

from carhome.testing import Restartable

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HAVE_MOSQUITTO = Path(MOSQUITTO).exists()
BOUND = 20.0  # seconds a broker may take to start or stop: a safety net, not a wait
GRACE = 2.0  # seconds a stopped broker has to exit before it is killed, as a supervisor does


class BrokerProcess(Restartable):
    """A broker in its own process on ``port``, which a test may stop, kill and start."""

    name: ClassVar[str]
    ready: ClassVar[str]
    """A line the broker prints once it accepts connections."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self.workdir = workdir
        self.starts = 0
        self.forced = 0
        """Stops (SIGTERM) the broker did not finish within ``GRACE``: it was killed then."""
        self.log: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the broker in the foreground."""

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._process = process
        assert process.stdout is not None
        out = process.stdout

        async def until_ready() -> None:
            while line := (await out.readline()).decode(errors="replace"):
                self.log.append(line)
                if self.ready in line:
                    return
            raise RuntimeError(f"{self.name} exited before it was ready:\n" + "".join(self.log[-20:]))

        try:
            await asyncio.wait_for(until_ready(), BOUND)
        except BaseException:
            await self.stop(kill=True)
            raise

        async def drain() -> None:
            while line := await out.readline():
                self.log.append(line.decode(errors="replace"))

        self._drain = asyncio.create_task(drain(), name=f"{self.name}-output")
        self.starts += 1

    async def stop(self, *, kill: bool = False) -> None:
        """End the broker: SIGKILL (``kill``), or SIGTERM and SIGKILL if it is not done
        within ``GRACE`` (counted in ``forced``); return once it is gone."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), BOUND if kill else GRACE)
            except TimeoutError:
                self.forced += 1
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await asyncio.wait_for(process.wait(), BOUND)
        if self._drain is not None:
            await asyncio.wait_for(self._drain, BOUND)
            self._drain = None


class Mosquitto(BrokerProcess):
    """Eclipse Mosquitto on a loopback port: anonymous and in memory only (what a broker
    crash loses, it loses), or as ``conf`` says (which must log to stderr)."""

    name = "mosquitto"
    ready = " running"

    def __init__(self, port: int, workdir: Path, conf: Path | None = None) -> None:
        super().__init__(port, workdir)
        if conf is None:
            conf = workdir / f"mosquitto-{port}.conf"
            conf.write_text(
                f"listener {port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                "log_dest stderr\n"
                "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            )
        self.conf = conf

    def command(self) -> list[str]:
        return [MOSQUITTO, "-c", str(self.conf)]
