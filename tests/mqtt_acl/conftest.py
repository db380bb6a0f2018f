"""Fixtures of the ACL tests: the hub's identities, and each broker enforcing them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acl_rig import DEVICES, AclBroker, run_mosquitto

from carhome.connectors.mqtt import EmbeddedBroker
from carhome.connectors.mqtt.credentials import Credentials, HomeAssistantAccess
from mqtt.conftest import HAVE_MOSQUITTO, free_port


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.make(DEVICES, home_assistant=HomeAssistantAccess())


@pytest.fixture(params=[pytest.param("mosquitto", marks=pytest.mark.mosquitto), "builtin"])
async def acl_broker(
    request: pytest.FixtureRequest, credentials: Credentials, tmp_path: Path
) -> AsyncIterator[AclBroker]:
    """Each broker in turn, letting in only ``credentials`` and enforcing their ACL."""
    if request.param == "builtin":
        async with EmbeddedBroker("127.0.0.1", free_port(), credentials=credentials) as builtin:
            yield AclBroker("builtin", builtin.url, builtin)
        return
    if not HAVE_MOSQUITTO:
        # scripts/test installs Mosquitto and sets this: there a missing broker is a failure.
        if os.environ.get("CARHOME_REQUIRE_MOSQUITTO"):
            pytest.fail("mosquitto is not installed, though scripts/test should have installed it")
        pytest.skip("mosquitto is not installed (scripts/test installs it)")
    async with run_mosquitto(tmp_path / "mosquitto", credentials) as broker:
        yield broker
