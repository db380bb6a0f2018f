"""What energy costs: tariffs (fixed, time of use, dynamic) and the slot series they price.

Both the charging planner (``carhome.energy``) and history's costing (``carhome.history``)
price with these, so they sit below both parts and import neither.
"""

from carhome.prices.series import SlotSeries
from carhome.prices.tariffs import DynamicTariff, FixedTariff, Tariff, TimeOfUseTariff, TouWindow

__all__ = ["DynamicTariff", "FixedTariff", "SlotSeries", "Tariff", "TimeOfUseTariff", "TouWindow"]
