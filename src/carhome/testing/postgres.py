"""A throwaway PostgreSQL cluster: its own ``initdb`` in a temporary directory, for tests and
benchmarks of the PostgreSQL store.

``ThrowawayCluster`` finds PostgreSQL's programs (``pg_config --bindir``, else the newest
``/usr/lib/postgresql/*/bin``), makes a cluster in a fresh temporary directory, starts
``postgres`` on a free loopback port (``listen_addresses = 127.0.0.1``, its Unix socket in
that directory, ``fsync`` on, so a commit is on disk as in production) and, on ``stop``,
stops it and removes the directory. No system service is used or left running. Run as root,
the cluster belongs to an unprivileged user (``postgres``, else ``nobody``), as PostgreSQL
refuses to run as root.

Without PostgreSQL's programs ``start`` raises ``StoreError``, saying what to install:
the tests that need a cluster fail rather than skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

import asyncpg

from carhome.errors import StoreError

USER: Final = "carhome"
"""The cluster's superuser (trusted on loopback: the cluster lives only as long as a test run)."""

INSTALL: Final = (
    "install PostgreSQL (Debian: apt-get install postgresql; scripts/test does it) or put pg_config on PATH"
)


def bindir() -> Path:
    """Where PostgreSQL's server programs are; ``StoreError`` saying what to install if nowhere."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            found = subprocess.run(  # noqa: S603 - pg_config found on PATH, fixed arguments
                [pg_config, "--bindir"], check=True, capture_output=True, text=True
            ).stdout.strip()
            candidates.append(Path(found))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=lambda p: _version(p.parent.name), reverse=True)
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise StoreError(f"no PostgreSQL server programs (initdb, pg_ctl, postgres) found: {INSTALL}")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCluster:
    """One PostgreSQL cluster of its own, started and stopped by the caller.

    ``with ThrowawayCluster() as cluster`` (or ``start``/``stop``); ``url(database)`` is
    the URL of a database on it; ``await create_schema(name)`` makes a schema of its own."""

    def __init__(self, *, parent: str | None = None) -> None:
        self._parent = parent
        self._dir: Path | None = None
        self._bin: Path | None = None
        self._user: str | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def directory(self) -> Path:
        if self._dir is None:
            raise StoreError("the throwaway cluster is not started: call start() first")
        return self._dir

    @property
    def log(self) -> Path:
        """The server's log (read it when the cluster misbehaves)."""
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Make the cluster and start it; returns once it accepts connections."""
        self._bin = bindir()
        self._dir = Path(tempfile.mkdtemp(prefix="carhome-pg-", dir=self._parent))
        # PostgreSQL refuses to run as root: the cluster then belongs to an unprivileged user.
        if os.geteuid() == 0:
            self._user = next(u for u in ("postgres", "nobody") if _exists(u))
            account = pwd.getpwnam(self._user)
            os.chown(self._dir, account.pw_uid, account.pw_gid)
        data = self._dir / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.port = free_port()
        self.start_server()

    def start_server(self) -> None:
        """Start the cluster's server again after ``stop_server`` (the same data, the same
        port); returns once it accepts connections."""
        data = self.directory / "data"
        options = " ".join(
            (
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self._dir}",
                "-c fsync=on",
                "-c synchronous_commit=on",
                "-c full_page_writes=on",
                "-c max_connections=200",
            )
        )
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(self.log), "-o", options)

    def stop_server(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        """Stop the server and keep the cluster, as a database that goes away: ``fast`` cuts
        the connections and shuts down cleanly, ``immediate`` quits as a crash would (the
        server recovers from its log at ``start_server``)."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.directory / "data"))

    def stop(self) -> None:
        """Stop the server (fast: connections are cut) and remove the cluster's directory."""
        directory, self._dir = self._dir, None
        if directory is None:
            return
        try:
            if (directory / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(directory / "data"))
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    async def create_schema(self, name: str) -> str:
        """Make an empty schema ``name`` (letters, digits, underscores) in the ``postgres``
        database; the URL of a connection that makes and finds its tables there.

        A schema is made in a moment, where ``CREATE DATABASE`` copies and syncs a template:
        a test suite takes one each."""
        if not name.replace("_", "").isalnum():
            raise StoreError(f"not a plain schema name: {name!r}; use letters, digits and underscores")
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE SCHEMA "{name}"')
        finally:
            await conn.close()
        # asyncpg sends the URL's other query parameters as settings of the session
        return f"{self.url()}?search_path={name}"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments
            [str((self._bin or bindir()) / tool), *args],
            capture_output=True,
            text=True,
            user=self._user,
            cwd=self._dir,
            check=False,
        )
        if done.returncode != 0:
            raise StoreError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True
