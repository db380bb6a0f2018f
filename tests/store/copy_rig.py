"""``carhome store copy`` run as a user runs it, for the copy tests of every part."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from click.testing import CliRunner, Result

from carhome.cli.main import cli


async def carhome(*args: str) -> Result:
    """``carhome ARGS``, in a thread (the command runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def there_and_back(source: str, postgres_url: str, back: Path) -> tuple[Result, Result, str]:
    """``source`` copied to ``postgres_url`` and from there to a SQLite store made in ``back``:
    both copies (each has succeeded) and the URL of that store."""
    there = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert there.exit_code == 0, there.output
    await asyncio.to_thread(back.mkdir)
    back_url = f"sqlite:///{back / 'carhome.db'}"
    returned = await carhome("store", "copy", "--from", postgres_url, "--to", back_url)
    assert returned.exit_code == 0, returned.output
    return there, returned, back_url


def assert_told(lines: Iterable[str], *copies: Result) -> None:
    """Each of ``lines`` is in the output of every one of ``copies``."""
    for line in lines:
        for copy in copies:
            assert line in copy.output
