"""A malformed or out-of-spec message gets its CallError; the connection carries on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from carhome.connectors.ocpp import OcppServer
from carhome.hub import Hub
from carhome.testing.wallbox import SimulatedWallbox

WallboxFactory = Callable[..., SimulatedWallbox]


def _frames(version: str) -> list[tuple[str, list[Any], str]]:
    """(unique id, payload or raw text, expected error code) for ``version``."""
    v16 = version == "1.6"
    status = (
        ["StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}]
        if v16
        else [
            "StatusNotification",
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "connectorStatus": "Sleeping",
                "evseId": 1,
                "connectorId": 1,
            },
        ]
    )
    wrong_type = (
        ["StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Available"}]
        if v16
        else [
            "StatusNotification",
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "connectorStatus": "Available",
                "evseId": "one",
                "connectorId": 1,
            },
        ]
    )
    return [
        ("m-enum", status, "PropertyConstraintViolation"),
        ("m-type", wrong_type, "TypeConstraintViolation"),
        (
            "m-missing",
            ["Authorize", {}],
            "OccurenceConstraintViolation" if v16 else "OccurrenceConstraintViolation",
        ),
        ("m-extra", ["Heartbeat", {"bogus": 1}], "FormationViolation" if v16 else "FormatViolation"),
        ("m-unknown-action", ["NoSuchAction", {}], "NotSupported"),
        ("m-not-implemented", ["DataTransfer", {"vendorId": "x"}], "NotImplemented"),
        (
            "m-bad-tx",
            [
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": 424242,
                    "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "one"}]}],
                },
            ]
            if v16
            else [
                "MeterValues",
                {"evseId": 1, "meterValue": [{"timestamp": "not a time", "sampledValue": [{"value": 1}]}]},
            ],
            "PropertyConstraintViolation",
        ),
    ]


async def test_each_bad_message_gets_its_error_and_the_next_is_handled(
    hub: Hub, server: OcppServer, make_wallbox: WallboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        for unique_id, call, code in _frames(box.version):
            frame = json.dumps([2, unique_id, *call])
            reply = await box.call_raw(frame, unique_id)
            assert reply[0] == 4, (unique_id, reply)
            assert reply[1] == unique_id
            assert reply[2] == code, (unique_id, reply)
            # the connection carries on: the next well-formed message is handled
            await box.status("Available")
            assert hub.value("h1", "wallbox", "status") == "available"
            await box.status("Preparing" if box.version == "1.6" else "Occupied")
            assert hub.value("h1", "wallbox", "status") == "preparing"


async def test_broken_frame_with_an_id_gets_an_error(
    server: OcppServer, make_wallbox: WallboxFactory
) -> None:
    async with make_wallbox() as box:
        await box.boot()
        reply = await box.call_raw('[7, "m-kind", "Heartbeat", {}]', "m-kind")
        assert reply[2] == "PropertyConstraintViolation"
        assert await box.boot() == "Accepted"
