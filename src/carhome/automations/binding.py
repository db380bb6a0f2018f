"""Binding an automation's names to the hub: device references and property names.

A device is written ``home/device`` or, when the automation (or its file) names its home or
the hub holds one home, just ``device``. An automation acts in one home: every device,
time and member it names is of that home (its ``home:``, the hub's only home, or else the
home its first ``home/device`` names); a name in any other home is a ``BindError``, so an
automation can neither read nor command another home's devices, nor run as its members.

A property is written by its spec name (a car's VSS path, ``place``, a light's ``on``) or,
for cars, by the short name of a VSS signal in carhome's catalog (``soc``, ``speed``,
``cabin_temperature`` …).

Errors found here carry the path inside the automation (``triggers[0].device``), which the
loader turns into a file and line.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carhome.automations.timers import Timers
from carhome.errors import CarhomeError, UnknownDevice
from carhome.hub import Hub
from carhome.spec import PropertySpec, vss

Path = tuple[str | int, ...]

# ``soc`` -> ``Vehicle.Powertrain.TractionBattery.StateOfCharge.Current`` and so on: the
# catalog's own constant names, so the short names never drift from it.
VSS_SHORT_NAMES: Final[dict[str, str]] = {
    name.lower(): value
    for name, value in vars(vss).items()
    if name.isupper() and isinstance(value, str) and value.startswith("Vehicle.")
}


class MemberHomes(Protocol):
    """Who belongs where: the home of a member, or None for no such member (the hub's
    access part provides it; an engine without one does not check members)."""

    def home_of(self, member: str) -> str | None: ...


class BindError(CarhomeError):
    """A name in an automation does not match the hub; ``path`` says where in it."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class Binder:
    """Resolves the names one automation uses against one hub, and hands out what the
    engine shares with its automations: the timers and the scenes of the automation's file."""

    def __init__(
        self,
        hub: Hub,
        home: str | None,
        *,
        automation: str = "",
        timers: Timers | None = None,
        scenes: dict[str, Any] | None = None,
        members: MemberHomes | None = None,
    ) -> None:
        self.hub = hub
        if home is None:
            homes = hub.homes()
            home = homes[0].id if len(homes) == 1 else None
        self.home = home
        self.automation = automation
        self.timers = timers or Timers(hub.clock)
        self.scenes: dict[str, Any] = scenes or {}
        self.members = members

    def _own(self, home: str, what: str, path: Path) -> None:
        """Fix the automation's home at ``home``, or refuse ``home`` if it is another."""
        if self.home is None:
            self.home = home
        elif home != self.home:
            raise BindError(
                path,
                f"{what} is in home {home!r}; this automation acts in home {self.home!r}"
                " and reaches that home's devices only",
            )

    def member(self, member: str, path: Path) -> None:
        """Refuse ``member`` unless it is a member of the automation's home (checked when
        the engine knows the hub's members)."""
        if self.members is None:
            return
        if self.home is None:
            raise BindError(path, "set 'home:' on the automation: the hub has several homes")
        if self.members.home_of(member) != self.home:
            # one answer for "no such member" and "a member elsewhere": names of other
            # homes' members are not for this home to learn
            raise BindError(path, f"{member!r} is not a member of home {self.home!r}")

    def timezone(self, home: str | None, path: Path) -> tzinfo:
        """The timezone of ``home`` (the automation's home when ``None``)."""
        home = home or self.home
        if home is None:
            raise BindError(path, "times need a home: set 'home:' on the automation")
        if self.home is not None:
            self._own(home, f"home {home!r}", path)
        try:
            name = self.hub.home(home).timezone
        except UnknownDevice:
            raise BindError(path, f"no home {home!r} in this hub") from None
        self._own(home, f"home {home!r}", path)
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise BindError(path, f"home {home!r} has an unknown timezone {name!r}") from None

    def device(self, ref: str, path: Path) -> tuple[str, str]:
        """``(home, device)`` for ``home/device`` or ``device``."""
        home, sep, device = ref.partition("/")
        if not sep:
            home, device = self.home or "", ref
            if not home:
                raise BindError(
                    path,
                    f"device {ref!r} needs its home: write 'home/{ref}' or set"
                    " 'home:' on the automation (the hub has several homes)",
                )
        if self.home is not None:
            self._own(home, f"device {ref!r}", path)  # before looking: no probing other homes
        try:
            self.hub.device(home, device)
        except UnknownDevice as exc:
            raise BindError(path, str(exc)) from None
        self._own(home, f"device {ref!r}", path)
        return home, device

    def prop(self, home: str, device: str, name: str, path: Path) -> PropertySpec:
        """The property ``name`` of the device, by spec name or VSS short name."""
        props = self.hub.spec(home, device).properties
        spec = props.get(name) or props.get(VSS_SHORT_NAMES.get(name, ""))
        if spec is None:
            some = ", ".join(sorted(props)[:8])
            raise BindError(
                path,
                f"{home}/{device} has no property {name!r}; expected a spec name"
                f" ({some} …) or a VSS short name (soc, speed …)",
            )
        return spec

    def action(self, home: str, device: str, name: str, path: Path) -> None:
        actions = self.hub.spec(home, device).actions
        if name not in actions:
            raise BindError(
                path,
                f"{home}/{device} has no action {name!r};"
                f" expected one of {', '.join(sorted(actions)) or 'none'}",
            )
