"""How the CLI names devices and properties: ``home/device`` refs and short VSS paths.

A device is ``home/device``, or just ``device`` when exactly one home has a device of that
id. A property is its full name (``Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature``)
or any suffix that names one property on dot boundaries (``Driver.Temperature``),
matched without regard to case. For display, each dotted name is cut to its shortest
unique suffix of at least two segments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click

from carhome.wire.devices import DeviceOut


def resolve_device(ref: str, devices: Sequence[DeviceOut]) -> tuple[str, str]:
    """The (home, device) that ``ref`` names among ``devices``."""
    if "/" in ref:
        home, _, device = ref.partition("/")
        if not home or not device or "/" in device:
            raise click.BadParameter(f"{ref!r} is not HOME/DEVICE or DEVICE", param_hint="DEVICE")
        return home, device
    matches = [d for d in devices if d.id == ref]
    if len(matches) == 1:
        return matches[0].home, ref
    if matches:
        homes = ", ".join(f"{d.home}/{d.id}" for d in matches)
        raise click.BadParameter(
            f"{ref!r} is in several homes ({homes}); say which as HOME/DEVICE", param_hint="DEVICE"
        )
    known = ", ".join(f"{d.home}/{d.id}" for d in devices[:20]) or "none"
    raise click.BadParameter(f"no device {ref!r}; known devices: {known}", param_hint="DEVICE")


def resolve_name(
    given: str, names: Sequence[str], *, prefer: Iterable[str] = (), what: str = "property"
) -> str:
    """The one name in ``names`` that ``given`` is, or ends with (dot boundary, any case).

    When several match, those in ``prefer`` (e.g. the writable properties) decide.
    """
    if given in names:
        return given
    preferred = set(prefer)
    low = given.lower()
    matches = [n for n in names if n.lower() == low or n.lower().endswith("." + low)]
    if len(matches) > 1:
        narrowed = [n for n in matches if n in preferred]
        if len(narrowed) == 1:
            return narrowed[0]
    if len(matches) == 1:
        return matches[0]
    short = short_names(names)
    if matches:
        listed = ", ".join(short[n] for n in matches)
        raise click.BadParameter(
            f"{given!r} matches several: {listed}; give more of the name", param_hint=what.upper()
        )
    pool = [n for n in names if n in preferred] or list(names)
    listed = ", ".join(short[n] for n in pool[:30])
    raise click.BadParameter(f"no {what} {given!r}; known: {listed}", param_hint=what.upper())


def short_names(names: Iterable[str]) -> dict[str, str]:
    """Each name cut to its shortest suffix (two segments or more) that no other name has."""
    names = list(names)
    split = {n: n.split(".") for n in names}
    out: dict[str, str] = {}
    for name, parts in split.items():
        if len(parts) < 3:
            out[name] = name
            continue
        for size in range(2, len(parts) + 1):
            tail = parts[-size:]
            if not any(other != name and o[-size:] == tail for other, o in split.items()):
                out[name] = ".".join(tail)
                break
        else:
            out[name] = name
    return out
