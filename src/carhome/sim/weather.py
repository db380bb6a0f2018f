"""The outdoors every simulated device shares: air temperature and PM2.5.

Beijing's climate in two cosines: the yearly one (about −3 °C mean in late January,
27 °C in late July) and the daily one (coldest near 05:00, warmest near 15:00 local
time). Tests pin the values with ``fixed_temperature`` instead.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

_YEAR_MEAN = 12.5  # °C, Beijing
_YEAR_SWING = 15.0  # half the difference between the July and January means
_COLDEST_DAY = 20  # day of year of the January minimum
_DAY_SWING = 5.0  # half the typical daily range
_WARMEST_HOUR = 15.0


class Outdoor:
    """Outside conditions at the simulated home; ``update(now)`` moves them to ``now``."""

    def __init__(
        self, *, timezone: str = "Asia/Shanghai", fixed_temperature: float | None = None, pm25: float = 35.0
    ) -> None:
        self._tz = ZoneInfo(timezone)
        self._fixed = fixed_temperature
        self.temperature: float = fixed_temperature if fixed_temperature is not None else _YEAR_MEAN
        self.pm25 = pm25

    def update(self, now: float) -> None:
        if self._fixed is None:
            self.temperature = self.temperature_at(now)

    def temperature_at(self, now: float) -> float:
        """The climatological air temperature at ``now`` (seconds since the epoch)."""
        local = datetime.fromtimestamp(now, self._tz)
        day = local.timetuple().tm_yday
        hour = local.hour + local.minute / 60
        yearly = _YEAR_MEAN - _YEAR_SWING * math.cos(2 * math.pi * (day - _COLDEST_DAY) / 365.25)
        daily = _DAY_SWING * math.cos(2 * math.pi * (hour - _WARMEST_HOUR) / 24)
        return yearly + daily
