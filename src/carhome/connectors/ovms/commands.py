"""carhome commands to an OVMS module's shell commands, and its answers back to acks.

An OVMS module runs any shell command it is sent and publishes what it printed. The
vehicle-independent ones carhome's car spec needs (``vehicle_shell.cpp``) are:

=====================================  ======================================
carhome                                OVMS
=====================================  ======================================
action ``start_charging``              ``charge start``
action ``stop_charging``               ``charge stop``
action ``climate_on`` (no set point)   ``climatecontrol on``
action ``climate_off``                 ``climatecontrol off``
set ``…HVAC.IsAirConditioningActive``  ``climatecontrol on`` / ``off``
action ``lock`` / ``unlock``           ``lock <pin>`` / ``unlock <pin>``
=====================================  ======================================

Anything else (a charge limit, a window, the trunk) has no command every vehicle module
has, and is refused before anything is sent. Whether the vehicle does it is the module's
answer: its failures start ``Error:`` (``Error: Vehicle lock functionality not available``),
and a command its shell does not know is ``Unrecognised command``.
"""

from __future__ import annotations

import re
from typing import Final

from carhome.errors import CarhomeError
from carhome.hub import Ack, Command
from carhome.spec import vss

COMMANDS: Final = {
    "start_charging": "charge start",
    "stop_charging": "charge stop",
    "climate_on": "climatecontrol on",
    "climate_off": "climatecontrol off",
}
"""Actions that are one fixed OVMS command."""

PIN_ACTIONS: Final = ("lock", "unlock")
"""Actions whose OVMS command takes the vehicle's PIN."""

_FAILED: Final = re.compile(r"\s*(error\b|unrecognised command|subcommand required|usage:)", re.IGNORECASE)
_MAX_ANSWER: Final = 2000


class Unsupported(CarhomeError):
    """A command this module cannot be sent, with the reason."""


def shell_command(command: Command, pin: str | None) -> str:
    """The OVMS shell command for ``command``; ``Unsupported`` with the reason if none."""
    target = command.target
    if command.kind == "set":
        if target == vss.AC_ACTIVE:
            return "climatecontrol on" if command.args.get("value") else "climatecontrol off"
        raise Unsupported(
            f"OVMS has no command to set {target}; it takes start_charging, stop_charging,"
            " climate_on, climate_off, lock and unlock"
        )
    if target == "climate_on" and command.args.get("temperature") is not None:
        raise Unsupported(
            "OVMS's climatecontrol takes no set point; leave the temperature out (the car keeps its own)"
        )
    fixed = COMMANDS.get(target)
    if fixed is not None:
        return fixed
    if target in PIN_ACTIONS:
        if pin is None:
            raise Unsupported(
                f"{target} needs the vehicle's PIN, and none is configured for this car"
                " (ovms.cars[].pin_file)"
            )
        return f"{target} {pin}"
    raise Unsupported(
        f"OVMS has no command for {target}; it takes start_charging, stop_charging,"
        " climate_on, climate_off, lock and unlock"
    )


def ack_of(command_id: str, answer: str) -> Ack:
    """The ack for what the module printed running ``command_id``: failed with its words when
    they say it failed, acked with them otherwise."""
    text = answer.strip()
    if len(text) > _MAX_ANSWER:
        text = text[: _MAX_ANSWER - 1] + "…"
    if not text:
        return Ack(command_id, "acked", result="")
    if _FAILED.match(text):
        return Ack(command_id, "failed", error=f"the OVMS module answered: {' '.join(text.split())}")
    return Ack(command_id, "acked", result=text)
