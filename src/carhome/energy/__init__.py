"""carhome.energy: charging cars at home by plan.

The planner is pure: it takes a ``PlanRequest`` (time, cars at their chargers, tariff,
feed-in, solar and load forecast) and returns a ``Plan``. Smart cars are planned exactly,
as a linear or mixed-integer program solved by HiGHS; the rule modes (now, solar, solar +
minimum) are played forward. ``replan`` says when a plan is stale and makes the next one.
"""

from carhome.energy.cars import Car, OneOffDeparture, TaperCurve, WeeklyDeparture
from carhome.energy.chargers import Charger, Connection
from carhome.energy.forecasts import SiteForecast
from carhome.energy.modes import Mode
from carhome.energy.planner import make_plan
from carhome.energy.plans import CarPlan, Plan
from carhome.energy.problem import PlanRequest
from carhome.energy.replan import Planner, ReplanReason, replan_reasons
from carhome.energy.seriesfile import load_series, parse_csv, parse_json
from carhome.energy.units import Energy, Power, Soc
from carhome.prices.series import SlotSeries
from carhome.prices.tariffs import DynamicTariff, FixedTariff, Tariff, TimeOfUseTariff, TouWindow

__all__ = [
    "Car",
    "CarPlan",
    "Charger",
    "Connection",
    "DynamicTariff",
    "Energy",
    "FixedTariff",
    "Mode",
    "OneOffDeparture",
    "Plan",
    "PlanRequest",
    "Planner",
    "Power",
    "ReplanReason",
    "SiteForecast",
    "SlotSeries",
    "Soc",
    "TaperCurve",
    "Tariff",
    "TimeOfUseTariff",
    "TouWindow",
    "WeeklyDeparture",
    "load_series",
    "make_plan",
    "parse_csv",
    "parse_json",
    "replan_reasons",
]
