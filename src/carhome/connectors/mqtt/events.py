"""Device events: checked against the device's spec, then handed to the listeners.

An event is not state: the hub keeps no value for it. For now the connector only checks
it and calls the listeners registered with ``MqttConnector.on_event`` (automations will
subscribe there); nothing else is published.
"""

from __future__ import annotations

from typing import Any

import msgspec

from carhome.connectors.mqtt.payloads import EventMessage
from carhome.errors import InvalidChange
from carhome.spec import DeviceSpec, InvalidValue


class DeviceEvent(msgspec.Struct, frozen=True):
    """An event a device reported, its fields checked and normalised by the spec."""

    home: str
    device: str
    name: str
    fields: dict[str, Any]
    ts: float


def check_event(home: str, device: str, spec: DeviceSpec, message: EventMessage, ts: float) -> DeviceEvent:
    """The checked event, or ``InvalidChange`` naming the event and the culprit field."""

    def reject(code: str, reason: str, allowed: str | None = None) -> InvalidChange:
        return InvalidChange(
            home=home,
            device=device,
            prop=None,
            code=code,
            reason=f"event {message.name!r}: {reason}",
            allowed=allowed,
        )

    event = spec.events.get(message.name)
    if event is None:
        raise reject(
            "unknown_event", f"{spec.type} has no such event", ", ".join(sorted(spec.events)) or "none"
        )
    known = {f.name: f for f in event.fields}
    unknown = sorted(set(message.fields) - set(known))
    if unknown:
        raise reject("unknown_field", f"unknown field {unknown[0]!r}", ", ".join(known) or "none")
    fields: dict[str, Any] = {}
    for name, field in known.items():
        if name not in message.fields:
            raise reject("missing_field", f"missing field {name!r}", field.describe_allowed())
        try:
            fields[name] = field.check(message.fields[name])
        except InvalidValue as exc:
            raise reject(exc.code, f"field {name!r}: {exc.reason}", exc.allowed) from None
    return DeviceEvent(home, device, message.name, fields, ts)
