"""Fixtures for carhome against a real Home Assistant: its install, each broker, ``hass``.

Home Assistant is installed (scripts/ha-install) while the tests are collected, only when
a test of this directory is selected: the first install takes minutes, longer than one
test's timeout, and a built venv is reused in a second. An install that fails makes
every test here fail with the reason; it never skips.

The broker (Mosquitto, then the built-in NATS server), Home Assistant and the carhome hub
live for the whole module, on one event loop: Home Assistant starts in seconds but is the
slowest part, so the tests share it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from ha_real_hass import Installed, RealHomeAssistant, install

from carhome.mqtt import EmbeddedBroker
from mqtt.conftest import Mosquitto, free_port, require_mosquitto

HERE = Path(__file__).resolve().parent
_installed = pytest.StashKey[Installed]()


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if any(HERE in item.path.parents for item in items):
        config.stash[_installed] = install()


@pytest.fixture(scope="session")
def hass_binary(pytestconfig: pytest.Config) -> Path:
    """``hass`` of the venv scripts/ha-install made; a failed install fails the test."""
    installed = pytestconfig.stash.get(_installed, None) or install()
    if installed.hass is None:
        pytest.fail(
            "Home Assistant 2025.4 is needed for tests/ha_real and could not be installed "
            "(scripts/ha-install; it needs pyenv's Python 3.13 and the package index):\n" + installed.error,
            pytrace=False,
        )
    return installed.hass


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=[pytest.param("mosquitto", marks=pytest.mark.mosquitto), "nats"],
)
async def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mosquitto | EmbeddedBroker]:
    """Each broker carhome ships or documents in turn, anonymous, on a free loopback port:
    Mosquitto as tests/mqtt/conftest.py starts it, and the built-in NATS server."""
    if request.param == "nats":
        async with EmbeddedBroker("127.0.0.1", free_port(), data_dir=tmp_path_factory.mktemp("nats")) as nats:
            yield nats
        return
    require_mosquitto()
    mosquitto = Mosquitto(free_port(), tmp_path_factory.mktemp("mosquitto"))
    await mosquitto.start()
    try:
        yield mosquitto
    finally:
        await mosquitto.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def home_assistant(
    hass_binary: Path, broker: Mosquitto | EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RealHomeAssistant]:
    """A running Home Assistant whose MQTT integration is set up on ``broker``."""
    config_dir = tmp_path_factory.mktemp("ha-config")
    async with RealHomeAssistant(hass_binary, config_dir, free_port(), lat=39.7953, lon=116.5060) as ha:
        await ha.setup_mqtt("127.0.0.1", broker.port)
        yield ha
