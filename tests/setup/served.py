"""``carhome serve`` and ``carhome`` commands as real processes, for the first-run tests.

``Served`` starts ``carhome serve --config FILE`` (the installed entry point, its own
process), reads what it prints until it says it is running (bounded), and stops it with
SIGINT as a person would with Ctrl-C. ``example_config`` is ``examples/carhome.yaml`` with
its three ports (API, built-in broker, OCPP) moved to free loopback ports: nothing else of
the file changes. ``carhome`` runs one CLI command as a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mqtt.conftest import free_port

ROOT: Final = Path(__file__).resolve().parents[2]
EXAMPLE: Final = ROOT / "examples" / "carhome.yaml"
CARHOME: Final = str(Path(sys.executable).with_name("carhome"))
LINK: Final = re.compile(r"(http://127\.0\.0\.1:\d+)/setup\?code=([A-Z0-9-]+)")
START_TIMEOUT: Final = 60.0


def example_config(directory: Path) -> Path:
    """The example configuration with free ports, written in ``directory`` (its data
    directory, ``.carhome``, is then beside it)."""
    text = EXAMPLE.read_text()
    for key, port in (
        ("  port: 8123\n", free_port()),
        ("  port: 1883\n", free_port()),
        ("  port: 9000\n", free_port()),
    ):
        assert text.count(key) == 1, f"the example no longer has {key.strip()!r} once"
        text = text.replace(key, f"  port: {port}\n")
    path = directory / "carhome.yaml"
    path.write_text(text)
    return path


def environment(state: Path) -> dict[str, str]:
    """The environment of every process of a test: its own CLI sessions and hub address."""
    return {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}


@dataclass
class Served:
    """A running ``carhome serve``: what it printed (stdout, stderr) and its API's URL."""

    process: asyncio.subprocess.Process
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def printed(self) -> str:
        return "".join(self.out)

    @property
    def logged(self) -> str:
        return "".join(self.err)


async def _collect(stream: asyncio.StreamReader | None, into: list[str], running: asyncio.Event) -> None:
    """Keep each line of ``stream``; set ``running`` at the announcement's API line, or at
    the end of the stream (the process ended: the waiter then says why)."""
    try:
        while stream is not None and (line := await stream.readline()):
            into.append(line.decode(errors="replace"))
            if into[-1].startswith("  local API:"):
                running.set()
    finally:
        running.set()


@contextlib.asynccontextmanager
async def served(config: Path, state: Path) -> AsyncIterator[Served]:
    """``carhome serve --config config`` until the block ends (then SIGINT, bounded wait)."""
    process = await asyncio.create_subprocess_exec(
        CARHOME,
        "serve",
        "--config",
        str(config),
        cwd=config.parent,
        env=environment(state),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    hub = Served(process)
    running = asyncio.Event()
    readers = [
        asyncio.create_task(_collect(process.stdout, hub.out, running)),
        asyncio.create_task(_collect(process.stderr, hub.err, asyncio.Event())),
    ]
    try:
        async with asyncio.timeout(START_TIMEOUT):
            await running.wait()
        urls = [line.split()[-1] for line in hub.out if line.startswith("  local API:")]
        if not urls:
            await process.wait()
            await asyncio.gather(*readers)
            raise AssertionError(f"carhome serve exited {process.returncode}:\n{hub.logged}")
        hub.url = urls[0]
        yield hub
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        await asyncio.gather(*readers)


async def carhome(*args: str, state: Path, given: str = "") -> tuple[int, str, str]:
    """Run ``carhome ARGS`` with ``given`` on its standard input: (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        CARHOME,
        *args,
        env=environment(state),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate(given.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
