"""A simulated home wallbox (single phase, 220 V, up to 32 A ≈ 7 kW).

It follows the car's plug: ``available`` with no car, ``preparing`` for the few seconds
of the plug-in handshake, then ``charging`` while the car draws power, ``suspended_ev``
while the car holds back (full, or told to stop) and ``suspended_evse`` while the
wallbox itself was told to stop. It offers the car its current limit and meters the
session's energy.

As an OCPP charger (``ocpp=True``, driven by ``OcppWallboxLink``) it opens a session when
the car is plugged in (``autostart``, as a home wallbox in free-charging mode does) or,
with ``autostart=False``, waits for the central system to start one (``preparing`` until
then); it charges at the limit of the latest charging profile and holds
(``suspended_evse``) under a profile below the 6 A a car needs.

``OcppWallboxLink`` is the runner's link for such a wallbox: instead of MQTT it speaks
OCPP through ``carhome.testing.wallbox.SimulatedWallbox`` — status notifications,
transactions and meter values out; remote start/stop, charging profiles and unlock in,
executed by the wallbox like any command. A wallbox given keys (``SimBase.secure``) verifies
signed start commands there, as a real charger would, before the start reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, Self

from carhome.clock import Clock
from carhome.errors import DeviceRefused
from carhome.sim.chargepoint import SimulatedWallbox, Version, charging_profile
from carhome.sim.charging import GRID_VOLTAGE, ChargePoint
from carhome.sim.device import SimBase

if TYPE_CHECKING:
    from carhome.sim.runner import CommandHandler, LinkFactory

log: Final = logging.getLogger(__name__)

_HANDSHAKE_S = 5.0
_MIN_CURRENT = 6  # A: below this (IEC 61851) a car cannot charge
_METER_EVERY_S: Final = 60.0  # simulated seconds between meter values while charging


class PluggableCar(Protocol):
    """What the wallbox sees of a car: its plug and what it draws."""

    charge_point: ChargePoint | None
    charging_ac_w: float

    def release_cable(self) -> None: ...


class SimWallbox(SimBase):
    type = "wallbox"
    verifies = True  # start_charging is signed: over OCPP the charger checks it (DataTransfer)

    def __init__(self, *, current_limit: int = 32, ocpp: bool = False, autostart: bool = True) -> None:
        super().__init__()
        self.car: PluggableCar | None = None
        self.current_limit = current_limit
        self.ocpp = ocpp
        self.autostart = autostart
        self.held = False  # a charging profile below the minimum current holds the session
        self.enabled = True
        self.energy_kwh = 0.0
        self._connected = False
        self._handshake = 0.0
        self.setters = {"current_limit": self._set_limit}
        self.actions = {
            "start_charging": self._start,
            "stop_charging": self._stop,
            "unlock_connector": self._unlock,
        }

    def attach(self, car: PluggableCar) -> None:
        """The car whose cable reaches this wallbox."""
        self.car = car

    @property
    def connected(self) -> bool:
        return self.car is not None and self.car.charge_point is self

    def offered_power_w(self) -> float:
        if not self.connected or not self.enabled or self.held or self._handshake > 0:
            return 0.0
        return self.current_limit * GRID_VOLTAGE

    def power_w(self) -> float:
        return self.car.charging_ac_w if self.car is not None and self.connected else 0.0

    def status(self) -> str:
        if not self.connected:
            return "available"
        if self._handshake > 0:
            return "preparing"
        if not self.enabled:
            # an OCPP charger with no session waits for one; a stopped MQTT wallbox holds
            return "preparing" if self.ocpp else "suspended_evse"
        if self.held:
            return "suspended_evse"
        return "charging" if self.power_w() > 0 else "suspended_ev"

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status(),
            "power": round(self.power_w(), -1) + 0.0,
            "energy": round(self.energy_kwh, 2),
            "current_limit": self.current_limit,
            "phases": 1,
        }

    def advance(self, dt: float) -> None:
        connected = self.connected
        if connected != self._connected:
            self._connected = connected
            self.emit("plugged", plugged=connected)
            if connected:
                # a new session: fresh meter, handshake first (or, without autostart, a wait
                # for the central system to start one)
                self.energy_kwh = 0.0
                self.enabled = self.autostart
                self.held = False
                self._handshake = _HANDSHAKE_S
                return
            self._handshake = 0.0
        if self._handshake > 0:
            self._handshake = max(0.0, self._handshake - dt)
        self.energy_kwh += self.power_w() * dt / 3.6e6

    def _set_limit(self, value: Any) -> None:
        self.current_limit = int(value)

    def apply_profile(self, amps: float) -> None:
        """Follow a charging profile's limit: charge at it, or hold below the minimum."""
        self.held = amps < _MIN_CURRENT
        if not self.held:
            self.current_limit = min(32, int(amps))

    def _start(self, _: dict[str, Any]) -> None:
        if not self.connected:
            raise DeviceRefused("no car is plugged in; plug the cable in first")
        self.enabled = True

    def _stop(self, _: dict[str, Any]) -> None:
        if not self.connected:
            raise DeviceRefused("no car is plugged in, so there is no session to stop")
        self.enabled = False
        self.held = False

    def _unlock(self, _: dict[str, Any]) -> None:
        if self.car is None or not self.connected:
            raise DeviceRefused("no cable is plugged in")
        if self.power_w() > 0:
            raise DeviceRefused("the car is charging; stop charging before releasing the cable")
        self.car.release_cable()


# -- the wallbox as an OCPP charger ------------------------------------------------------

# The wallbox spec's statuses as OCPP 1.6 connector statuses (2.0.1 knows only whether
# the connector is occupied; the charging state goes with the transaction).
_OCPP16_STATUS: Final = {
    "available": "Available",
    "preparing": "Preparing",
    "charging": "Charging",
    "suspended_ev": "SuspendedEV",
    "suspended_evse": "SuspendedEVSE",
    "finishing": "Finishing",
    "faulted": "Faulted",
    "unavailable": "Unavailable",
}
_IN_SESSION: Final = frozenset({"charging", "suspended_ev", "suspended_evse"})
_DEFAULT_TAG: Final = "carhome-sim"


class OcppWallboxLink:
    """A simulated wallbox's link to the hub over OCPP (the runner's ``DeviceLink``)."""

    def __init__(
        self,
        wallbox: SimWallbox,
        handler: CommandHandler,
        url: str,
        charger_id: str,
        *,
        password: str | None,
        clock: Clock,
        version: Version = "1.6",
    ) -> None:
        self.wallbox = wallbox
        self._handler = handler
        self._clock = clock
        self.box = SimulatedWallbox(
            url,
            charger_id,
            version=version,
            password=password,
            clock=clock,
            on_request=self._request,
            keys=wallbox.keys,
        )
        self._status: str | None = None
        self._energy_kwh = 0.0
        self._power_w = 0.0
        self._unmetered_wh = 0.0
        self._metered_at = 0.0
        self._tag = _DEFAULT_TAG
        self._booted = False

    async def __aenter__(self) -> Self:
        await self._connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.box.disconnect()

    async def _connect(self) -> None:
        if self.box.online:
            return
        self._booted = False
        await self.box.connect()
        await self.box.boot()
        self._booted = True
        if self._status is not None:
            await self._send_status(self._status)  # tell the central system where things stand

    # -- the runner publishes ---------------------------------------------------------------

    async def publish_state(self, values: Mapping[str, Any], ts: float | None = None) -> None:
        if not self.box.online or not self._booted:
            await self._connect()
        if "power" in values:
            self._power_w = float(values["power"])
        if "energy" in values:
            energy = float(values["energy"])
            # the wallbox meters each plug-in session from 0; the OCPP register only grows
            added = energy - self._energy_kwh if energy >= self._energy_kwh else energy
            self._unmetered_wh += added * 1000.0
            self._energy_kwh = energy
        status = values.get("status")
        if status is not None and status != self._status:
            await self._status_changed(str(status))
        elif self.box.tx_id is not None and (
            "power" in values or self._clock.time() - self._metered_at >= _METER_EVERY_S
        ):
            await self._meter()

    async def publish_event(self, name: str, fields: Mapping[str, Any]) -> None:
        """Plugging in and out shows in the connector status; OCPP has no other event for it."""

    async def _status_changed(self, status: str) -> None:
        self._status = status
        if status in _IN_SESSION and self.box.tx_id is None:
            await self._send_status(status)
            await self.box.start(self._tag)
            self._metered_at = self._clock.time()
            return
        if self.box.tx_id is not None:
            await self._meter()
            if status not in _IN_SESSION:
                await self.box.stop()
                self._tag = _DEFAULT_TAG
        await self._send_status(status)

    async def _send_status(self, status: str) -> None:
        if self.box.version == "1.6":
            await self.box.status(_OCPP16_STATUS.get(status, "Available"))
        else:
            await self.box.status("Available" if status == "available" else "Occupied")

    async def _meter(self) -> None:
        add, self._unmetered_wh = self._unmetered_wh, 0.0
        self._metered_at = self._clock.time()
        await self.box.meter(add, self._power_w)

    # -- the central system asks --------------------------------------------------------------

    async def _request(self, action: str, payload: dict[str, Any]) -> bool:
        """Execute a request as the wallbox's command (never an OCPP call from here)."""
        try:
            if action in ("RemoteStartTransaction", "RequestStartTransaction"):
                token = payload.get("id_tag") or (payload.get("id_token") or {}).get("id_token")
                await self._handler.execute("action", "start_charging", {})
                self._tag = str(token or _DEFAULT_TAG)
            elif action in ("RemoteStopTransaction", "RequestStopTransaction"):
                await self._handler.execute("action", "stop_charging", {})
            elif action == "SetChargingProfile":
                profile = charging_profile(payload)
                amps = profile.limit if profile.unit == "A" else profile.limit / GRID_VOLTAGE
                self.wallbox.apply_profile(amps)
                log.info("sim wallbox %s: %s at %g A", self.box.id, profile.purpose, amps)
                if amps >= _MIN_CURRENT:
                    await self._handler.execute("set", "current_limit", {"value": min(32, int(amps))})
            elif action == "UnlockConnector":
                await self._handler.execute("action", "unlock_connector", {})
            else:
                return False
        except DeviceRefused as exc:
            log.info("sim wallbox %s refused %s: %s", self.box.id, action, exc)
            return False
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("sim wallbox %s could not read %s: %s", self.box.id, action, exc)
            return False
        return True


def ocpp_wallbox_link(
    wallbox: SimWallbox,
    url: str,
    charger_id: str,
    *,
    password: str | None,
    clock: Clock,
    version: Version = "1.6",
    autostart: bool = True,
) -> LinkFactory:
    """A ``LinkFactory`` for ``SimRunner(device_links=…)`` that plays ``wallbox`` over OCPP.

    The wallbox becomes an OCPP charger: plugged in, it opens a session itself
    (``autostart``) or waits for the central system to start one.
    """
    wallbox.ocpp = True
    wallbox.autostart = autostart

    def make(home: str, device: str, handler: CommandHandler) -> OcppWallboxLink:
        return OcppWallboxLink(
            wallbox, handler, url, charger_id, password=password, clock=clock, version=version
        )

    return make
