"""Blueprints: automations written once as YAML templates, instantiated with a few parameters.

An automation entry ``use: NAME`` with ``with: {…}`` is expanded here, before decoding:
the parameters are decoded into the blueprint's own struct (unknown or missing ones are
errors with file and line, defaults filled in), a few values are derived from them, and
every ``${name}`` in the template is replaced (a whole-string ``${name}`` keeps the
value's type, so lists and numbers stay lists and numbers). The ``id``, ``alias``,
``home`` and ``mode`` written beside ``use`` override the template's.

The blueprints (see docs/automations.md):

- ``arriving_home``: the car comes home → garage opens, lights on, AC to comfort, purifier on;
- ``leaving_home``: the car leaves → doors locked, lights off, the vacuum starts;
- ``precondition_cabin``: on departure days, warm or cool the cabin ``lead`` before ``departure``;
- ``plug_in_reminder``: parked at home with low charge and no cable → remind a member;
- ``unlocked_at_night``: at ``at``, a door of the car at home is unlocked → notify and lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import msgspec
import yaml

from carhome.errors import CarhomeError
from carhome.spec import vss

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_PARAM: Final = re.compile(r"\$\{([a-z_]+)\}")


class BlueprintError(CarhomeError, ValueError):
    """A blueprint use is wrong; ``path`` says where inside the entry."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class ArrivingHome(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    car: str = "car"
    garage: str
    lights: list[str]
    ac: str
    comfort: float = 24.0
    purifier: str


ARRIVING_HOME = """
alias: Arriving home
triggers:
  - {trigger: place, device: "${car}", event: enter, place: home}
mode: single
actions:
  - {action: command, device: "${garage}", name: open}
  - {action: command, device: "${lights}", name: turn_on}
  - {action: set, device: "${ac}", property: target_temperature, value: "${comfort}"}
  - {action: command, device: "${ac}", name: turn_on}
  - {action: command, device: "${purifier}", name: turn_on}
"""


class LeavingHome(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    car: str = "car"
    locks: list[str]
    lights: list[str]
    vacuum: str


LEAVING_HOME = """
alias: Leaving home
triggers:
  - {trigger: place, device: "${car}", event: leave, place: home}
actions:
  - {action: command, device: "${locks}", name: lock}
  - {action: command, device: "${lights}", name: turn_off}
  - {action: command, device: "${vacuum}", name: start}
"""


class PreconditionCabin(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    car: str = "car"
    departure: str
    lead: int = 20  # minutes
    temperature: float = 21.0
    weekdays: list[Weekday] = msgspec.field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])


PRECONDITION_CABIN = """
alias: Pre-condition the cabin before departure
triggers:
  - {trigger: time, at: "${start}"}
conditions:
  - {condition: time, weekdays: "${weekdays}"}
  - {condition: place, device: "${car}", place: home}
actions:
  - {action: command, device: "${car}", name: climate_on, args: {temperature: "${temperature}"}}
"""


class PlugInReminder(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    car: str = "car"
    member: str
    below: float = 30.0
    after: str = "10m"


PLUG_IN_REMINDER = """
alias: Remind to plug in
triggers:
  - {trigger: state, device: "${car}", property: place, to: home, for: "${after}"}
conditions:
  - {condition: numeric, device: "${car}", property: soc, below: "${below}"}
  - condition: not
    conditions: [{condition: state, device: "${car}", property: cable_connected, state: true}]
actions:
  - action: notify
    member: "${member}"
    message: "The car is home at {trigger.value} with low charge: plug it in"
"""


class UnlockedAtNight(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    car: str = "car"
    member: str
    at: str = "22:00"
    lock: bool = True


UNLOCKED_AT_NIGHT = """
alias: Car left unlocked at night
triggers:
  - {trigger: time, at: "${at}"}
conditions:
  - {condition: place, device: "${car}", place: home}
  - {condition: or, conditions: "${unlocked}"}
actions: "${actions}"
"""


def _precondition(params: dict[str, Any]) -> dict[str, Any]:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(params["departure"]))
    if match is None:
        raise BlueprintError(("with", "departure"), "departure: expected HH:MM (24-hour), such as 07:30")
    hh, mm = int(match.group(1)), int(match.group(2))
    start = datetime(2000, 1, 2, hh, mm) - timedelta(minutes=int(params["lead"]))
    return {"start": start.strftime("%H:%M")}


def _unlocked(params: dict[str, Any]) -> dict[str, Any]:
    car = params["car"]
    return {
        "unlocked": [
            {"condition": "state", "device": car, "property": door, "state": False}
            for door in vss.DOOR_LOCKED
        ],
        "actions": [
            {"action": "notify", "member": params["member"], "message": "The car is unlocked at home"},
            *([{"action": "command", "device": car, "name": "lock"}] if params["lock"] else []),
        ],
    }


Derive = Callable[[dict[str, Any]], dict[str, Any]]


def _none(params: dict[str, Any]) -> dict[str, Any]:
    return {}


BLUEPRINTS: Final[dict[str, tuple[type[msgspec.Struct], str, Derive]]] = {
    "arriving_home": (ArrivingHome, ARRIVING_HOME, _none),
    "leaving_home": (LeavingHome, LEAVING_HOME, _none),
    "precondition_cabin": (PreconditionCabin, PRECONDITION_CABIN, _precondition),
    "plug_in_reminder": (PlugInReminder, PLUG_IN_REMINDER, _none),
    "unlocked_at_night": (UnlockedAtNight, UNLOCKED_AT_NIGHT, _unlocked),
}

_OWN_KEYS: Final = frozenset(
    {"use", "with", "id", "alias", "description", "home", "member", "mode", "enabled"}
)


def expand(entry: dict[str, Any]) -> dict[str, Any]:
    """The automation an entry ``{use: NAME, with: {…}, id: …}`` stands for."""
    unknown = sorted(set(entry) - _OWN_KEYS)
    if unknown:
        raise BlueprintError(
            (unknown[0],), f"unknown key beside 'use'; expected {', '.join(sorted(_OWN_KEYS))}"
        )
    name = entry["use"]
    found = BLUEPRINTS.get(name)
    if found is None:
        raise BlueprintError(
            ("use",), f"no blueprint {name!r}; expected one of {', '.join(sorted(BLUEPRINTS))}"
        )
    kind, template, derive = found
    try:
        params = msgspec.to_builtins(msgspec.convert(entry.get("with") or {}, kind))
    except msgspec.ValidationError as exc:
        raise BlueprintError(("with",), f"blueprint {name}: {exc}") from None
    params |= derive(params)
    automation: dict[str, Any] = _fill(yaml.safe_load(template), params)
    automation.update({k: v for k, v in entry.items() if k not in ("use", "with")})
    return automation


def _fill(node: Any, params: dict[str, Any]) -> Any:
    if isinstance(node, str):
        whole = _PARAM.fullmatch(node)
        if whole:
            return params[whole.group(1)]
        return _PARAM.sub(lambda m: str(params[m.group(1)]), node)
    if isinstance(node, list):
        return [_fill(item, params) for item in node]
    if isinstance(node, dict):
        return {key: _fill(value, params) for key, value in node.items()}
    return node
