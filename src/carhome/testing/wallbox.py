"""``SimulatedWallbox``: an OCPP charge point for tests, the simulator's own (``carhome.sim.chargepoint``).

Tests drive the hub's OCPP server with the very charge point the demo's wallbox plays, so
the double and the simulator cannot drift apart.
"""

from carhome.sim.chargepoint import SimulatedWallbox, Version, WallboxRefused, charging_profile

__all__ = ["SimulatedWallbox", "Version", "WallboxRefused", "charging_profile"]
