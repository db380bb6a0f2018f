"""``carhome`` run as a child process of a test: started by this interpreter, and killed
if it still runs when the test leaves (the test itself stops it the way it means to)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any


def carhome(*args: str) -> list[str]:
    """The command line of ``carhome ARGS`` run by this interpreter (a child of the test)."""
    return [sys.executable, "-c", "from carhome.cli.main import main; main()", *args]


@contextlib.asynccontextmanager
async def carhome_process(*args: str, **options: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    """``carhome ARGS`` started with ``asyncio.create_subprocess_exec``'s ``options``; on
    leaving, killed and waited for if it has not exited."""
    process = await asyncio.create_subprocess_exec(*carhome(*args), **options)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
