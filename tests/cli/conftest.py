"""One real hub per module, served over loopback, for the CLI to talk to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_thread import Carhome, HubThread


@pytest.fixture(scope="module")
def hub_thread() -> Iterator[HubThread]:
    with HubThread() as thread:
        yield thread


@pytest.fixture
def carhome(hub_thread: HubThread, tmp_path: Path) -> Carhome:
    return Carhome(hub_thread.url, tmp_path)
