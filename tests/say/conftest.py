"""One demo hub per module for the say tests: ``carhome.compose.runtime.run`` over the demo
configuration (built-in broker, SQLite, the simulated Yizhuang home) on loopback ports,
with access control on and the owner logged in; and, for ``carhome say``, the CLI tests'
hub in a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from say_rig import DemoHub

from cli.hub_thread import carhome, hub_thread  # noqa: F401 - the CLI's hub in a thread, for the say command
from hub_process import demo_hub, owner_login


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoHub]:
    tmp = tmp_path_factory.mktemp("say")
    data = tmp / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        async with demo_hub(data) as running, httpx.AsyncClient(base_url=running.api_url) as client:
            yield DemoHub(running.api_url, await owner_login(client, data), data)
