"""One demo hub per OpenAPI test module (starting one costs seconds).

Module-scoped, so it stops when the module's tests end (a package scope in a directory that is
no Python package lasts the whole session): a hub left running in its thread
would go on touching the global ``random`` (websockets' pings, reconnect jitter) while other
tests' Hypothesis strategies draw, which Hypothesis reports as an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openapi_hub import DemoHub, start_demo_hub


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHub]:
    tmp = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        hub = start_demo_hub(tmp)
        try:
            yield hub
        finally:
            hub.stop()
