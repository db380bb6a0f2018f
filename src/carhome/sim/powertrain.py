"""How much power the car's battery gives or takes while it moves.

Road load is rolling resistance plus aerodynamic drag (denser in the cold) plus the force
to accelerate; the battery supplies it through the drivetrain's losses. Braking runs the
motor as a generator: part of the kinetic energy comes back, up to the motor's regen
limit, and the friction brakes take the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

G = 9.81
_R_AIR = 287.05  # J/(kg·K), specific gas constant of dry air
_P_SEA = 101_325.0  # Pa


@dataclass(frozen=True)
class Powertrain:
    """A mid-size electric car (about a Model 3 Long Range or a BYD Seal)."""

    mass_kg: float = 2_000.0  # with driver
    crr: float = 0.009  # rolling resistance coefficient
    cda: float = 0.58  # drag coefficient × frontal area, m²
    drive_efficiency: float = 0.88  # battery → wheel
    regen_efficiency: float = 0.65  # wheel → battery
    max_drive_w: float = 220_000.0
    max_regen_w: float = 70_000.0

    def wheel_power_w(self, v: float, a: float, outside_c: float = 20.0) -> float:
        """Power at the wheels (W) at speed ``v`` (m/s) and acceleration ``a`` (m/s²)."""
        if v <= 0:
            return 0.0
        rho = _P_SEA / (_R_AIR * (outside_c + 273.15))
        force = self.mass_kg * G * self.crr + 0.5 * rho * self.cda * v * v + self.mass_kg * a
        return force * v

    def battery_power_w(self, v: float, a: float, outside_c: float = 20.0) -> float:
        """Power drawn from the battery (W): positive driving, negative when regenerating."""
        wheel = self.wheel_power_w(v, a, outside_c)
        if wheel >= 0:
            return min(wheel / self.drive_efficiency, self.max_drive_w)
        return max(wheel * self.regen_efficiency, -self.max_regen_w)

    def consumption_wh_per_km(
        self, speed_kmh: float, outside_c: float = 20.0, other_loads_w: float = 0.0
    ) -> float:
        """Energy per km at a steady speed, with other loads (12 V systems, HVAC) added."""
        v = speed_kmh / 3.6
        if v <= 0:
            raise ValueError("consumption per km needs a positive speed")
        watts = self.battery_power_w(v, 0.0, outside_c) + other_loads_w
        return watts / v * 1000.0 / 3600.0
