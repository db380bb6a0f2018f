"""A Shelly Gen2 on MQTT, as its documentation describes the channel, speaking only payloads
recorded from real devices or the documentation (``fixtures/``, see its README).

It connects with ``<prefix>/online`` ``false`` as its will and says ``true`` (retained),
takes JSON-RPC requests on ``<prefix>/rpc`` and answers on ``<src>/rpc``: ``Shelly.GetStatus``
with its recorded status, ``Switch.Set`` / ``Switch.Toggle`` with ``{"was_on": …}`` and a
``NotifyStatus`` of the switch on ``<prefix>/events/rpc``; an unknown switch id with the
documented -105 error frame, a request without ``on`` with the documented -103 one.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from mqtt.conftest import TIMEOUT, free_port

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeShelly:
    """One Shelly: ``status`` is its ``Shelly.GetStatus`` (a recorded one)."""

    def __init__(
        self, url: str, prefix: str, status: dict[str, Any], *, device_id: str | None = None
    ) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.prefix = prefix
        self.device_id = device_id or prefix
        self.status = copy.deepcopy(status)
        self.answer = True  # False: take requests and say nothing
        self.requests: list[dict[str, Any]] = []
        self.request_seen = asyncio.Event()
        self.client = gmqtt.Client(
            f"{prefix}-{free_port()}",
            will_message=gmqtt.Message(f"{prefix}/online", b"false", qos=1, retain=True),
        )
        self.client.on_message = self._on_message
        self._subscribed = asyncio.Event()
        self.client.on_subscribe = lambda *_: self._subscribed.set()

    async def __aenter__(self) -> FakeShelly:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        self.client.subscribe(f"{self.prefix}/rpc", qos=1)
        await asyncio.wait_for(self._subscribed.wait(), TIMEOUT)
        self.publish("online", b"true", retain=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    def publish(self, suffix: str, payload: bytes | dict[str, Any], *, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(f"{self.prefix}/{suffix}", data, qos=1, retain=retain)

    def notify(self, params: dict[str, Any], method: str = "NotifyStatus") -> None:
        self.publish(
            "events/rpc", {"src": self.device_id, "dst": "user_1", "method": method, "params": params}
        )

    def _on_message(
        self, _c: object, topic: str, payload: bytes, qos: int, properties: dict[str, Any]
    ) -> None:
        request = json.loads(payload)
        self.requests.append(request)
        self.request_seen.set()
        if not self.answer:
            return
        frame: dict[str, Any] = {"id": request["id"], "src": self.device_id, "dst": request["src"]}
        frame.update(self._handle(request["method"], request.get("params") or {}))
        self.client.publish(f"{request['src']}/rpc", json.dumps(frame).encode(), qos=1)

    def _handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "Shelly.GetStatus":
            return {"result": self.status}
        if method in ("Switch.Set", "Switch.Toggle"):
            key = f"switch:{params.get('id')}"
            if key not in self.status:
                error = fixture("error_not_found.json")["error"]
                return {"error": {**error, "message": f"Bad id={params.get('id')}"}}
            if method == "Switch.Set" and "on" not in params:
                error = fixture("error_invalid_argument.json")["error"]
                return {"error": {**error, "message": "Missing required 'on'"}}
            was_on = bool(self.status[key]["output"])
            now_on = bool(params["on"]) if method == "Switch.Set" else not was_on
            self.status[key]["output"] = now_on
            self.notify({"ts": 1631186545.04, key: {"id": params["id"], "output": now_on, "source": "MQTT"}})
            return {"result": {"was_on": was_on}}
        return {"error": {"code": 404, "message": f"No handler for {method}"}}
