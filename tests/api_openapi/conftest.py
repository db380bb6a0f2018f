"""One demo hub for the whole OpenAPI test area (starting one costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openapi_hub import DemoHub, start_demo_hub


@pytest.fixture(scope="session")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHub]:
    tmp = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        hub = start_demo_hub(tmp)
        try:
            yield hub
        finally:
            hub.stop()
