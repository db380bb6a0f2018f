"""The bombed hub, one per module (starting one costs seconds), and Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bomb_hub import BombHub

from mqtt.conftest import mosquitto  # noqa: F401 - the real broker the MQTT bombs go through


@pytest.fixture(scope="module")
def bombed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BombHub]:
    tmp = tmp_path_factory.mktemp("bombs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp / "state"))
        hub = BombHub(tmp / "demo")
        hub.start()
        try:
            yield hub
        finally:
            hub.stop()
