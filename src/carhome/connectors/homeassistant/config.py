"""The ``homeassistant:`` section: the bridge that shows the homes in Home Assistant."""

from __future__ import annotations

import msgspec


class HomeAssistantConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Publish every home's devices to Home Assistant through MQTT discovery."""

    member: str
    """The member Home Assistant acts as: its commands pass the same access checks."""
    discovery_prefix: str = "homeassistant"
    bridge_id: str = "carhome"
    username: str | None = None
    """The bridge's own MQTT login on an external broker (mqtt.url): not the hub's, since a
    broker that takes the username as client id (Mosquitto as ``carhome mqtt credentials
    --mosquitto`` sets it up) would drop one for the other. The built-in broker makes its own."""
    password: str | None = None

    def __repr__(self) -> str:  # never print the password
        return (
            f"HomeAssistantConfig(member={self.member!r}, discovery_prefix={self.discovery_prefix!r},"
            f" bridge_id={self.bridge_id!r}, username={self.username!r})"
        )
