"""Fixtures of the ACL tests: the hub's identities, and each broker enforcing them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acl_rig import DEVICES, AclBroker, run_mosquitto

from carhome.hub.rejections import RejectionLog
from carhome.mqtt import EmbeddedBroker
from carhome.mqtt.credentials import Credentials, HomeAssistantAccess
from mqtt.conftest import free_port, require_mosquitto


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.make(DEVICES, home_assistant=HomeAssistantAccess())


@pytest.fixture(params=[pytest.param("mosquitto", marks=pytest.mark.mosquitto), "nats"])
async def acl_broker(
    request: pytest.FixtureRequest, credentials: Credentials, tmp_path: Path
) -> AsyncIterator[AclBroker]:
    """Each broker carhome ships or documents in turn — the built-in NATS server and
    Mosquitto from the generated files — letting in only ``credentials`` and enforcing
    their ACL."""
    if request.param == "nats":
        # What the server refuses reaches the hub's rejections, as the runtime wires it.
        rejections = RejectionLog()
        async with EmbeddedBroker(
            "127.0.0.1",
            free_port(),
            data_dir=tmp_path,
            credentials=credentials,
            on_refusal=lambda refusal: rejections.record(refusal.rejection()),
        ) as builtin:
            yield AclBroker("nats", builtin.url, builtin, rejections=rejections)
        return
    require_mosquitto()
    async with run_mosquitto(tmp_path / "mosquitto", credentials) as broker:
        yield broker
