"""One car as the KUKSA services serve it: who asks, what they read, what they change.

Both API versions go through ``ServedCar``, so a v1 ``Set`` and a v2 ``Actuate`` make the
same command, pass the same access decision and are refused with the same reasons:

- every call names a member: the bearer token from the ``authorization`` metadata is
  mapped by the injected ``authenticate`` (``None`` → ``UNAUTHENTICATED``);
- an actuation becomes a hub command from that member on the ``kuksa`` face
  (``hub.submit``), so the gatekeeper decides it like any other; it returns once the
  command is accepted and durable, as KUKSA's ``Actuate`` returns once the request is
  forwarded to the provider. The app sees the effect in the signal's value;
- publishing values (``PublishValue``, v1 ``Set`` of a current value) is for the car's own
  providers: only members listed in ``providers`` may; the values are checked against the
  car's spec, all before any is applied (``INVALID_ARGUMENT`` naming the value and what is
  allowed), and go through ``hub.report`` like any device report.

An actuation is checked against the same spec before it becomes a command, so a value the
car would refuse (a 99 °C set point) is refused to the app, not accepted and left to fail
at the car.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Final

import grpc
import grpc.aio

from carhome.connectors.kuksa.actuators import Actuation, Actuators
from carhome.connectors.kuksa.errors import SignalError
from carhome.connectors.kuksa.signals import KuksaSignal, SignalTree
from carhome.errors import CommandDenied, ConfigError, InvalidCommand, StoreError, UnknownDevice
from carhome.hub import Hub, State

Authenticate = Callable[[str | None], str | None]
"""Maps a bearer token (``None`` when the call carries none) to a member id, or ``None``."""

FACE: Final = "kuksa"
SOURCE: Final = "kuksa"
_BEARER: Final = "bearer "


def bearer(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The token of an ``authorization: Bearer <token>`` header, if the call has one."""
    for key, value in metadata or ():
        if key.lower() == "authorization" and isinstance(value, str) and value.lower().startswith(_BEARER):
            return value[len(_BEARER) :].strip() or None
    return None


class ServedCar:
    """The car ``home/device`` on the hub, with its signal tree and access rules."""

    def __init__(
        self,
        hub: Hub,
        *,
        home: str,
        device: str,
        authenticate: Authenticate,
        providers: Collection[str] = (),
        command_ttl: float = 30.0,
    ) -> None:
        spec = hub.spec(home, device)
        if spec.type != "car":
            raise ConfigError(f"KUKSA serves cars; {home}/{device} is a {spec.type}")
        self.hub = hub
        self.home = home
        self.device = device
        self.tree = SignalTree(spec)
        self.actuators = Actuators(spec, self.tree)
        self._authenticate = authenticate
        self._providers = frozenset(providers)
        self._ttl = command_ttl
        # The last value each actuator was asked to take (KUKSA's "target value").
        self.targets: dict[str, State] = {}

    # -- who ------------------------------------------------------------------------------

    async def member(self, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The member making this call, or the call is aborted with ``UNAUTHENTICATED``."""
        who = self.check(context)
        if who is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "no valid access token: send 'authorization: Bearer <token>' with a carhome access token",
            )
        return who

    def check(self, context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
        """The member making this call now (``None`` once the token is revoked or expired)."""
        return self._authenticate(bearer(context.invocation_metadata()))

    # -- reading --------------------------------------------------------------------------

    def state(self, signal: KuksaSignal) -> State | None:
        return self.hub.state(self.home, self.device).get(signal.path)

    # -- actuating ------------------------------------------------------------------------

    async def actuate(self, member: str, requests: Sequence[tuple[KuksaSignal, Any]]) -> None:
        """Make each (signal, value) a command and submit it as ``member``.

        Every request is checked before any command is sent, so one bad value sends none.
        The access decision is the gatekeeper's, per command, in order: a denial stops the
        batch there, and the message says which commands were already accepted.
        """
        actuations: dict[tuple[str, str, str], Actuation] = {}
        for signal, value in requests:
            actuation = self.actuators.actuation(signal, value)
            actuations.setdefault(actuation.key, actuation)
        if self.hub.available(self.home, self.device) is False:
            raise SignalError(
                grpc.StatusCode.UNAVAILABLE,
                f"the car {self.home}/{self.device} is offline; nothing was sent, try again when it is back",
            )
        accepted: list[str] = []
        for actuation in actuations.values():
            try:
                await self.hub.submit(
                    self.home,
                    self.device,
                    actuation.kind,
                    actuation.target,
                    actuation.args,
                    member=member,
                    face=FACE,
                    ttl=self._ttl,
                )
            except CommandDenied as exc:
                raise SignalError(grpc.StatusCode.PERMISSION_DENIED, _after(str(exc), accepted)) from exc
            except InvalidCommand as exc:
                raise SignalError(grpc.StatusCode.INVALID_ARGUMENT, _after(str(exc), accepted)) from exc
            except UnknownDevice as exc:
                raise SignalError(grpc.StatusCode.UNAVAILABLE, _after(str(exc), accepted)) from exc
            except StoreError as exc:
                raise SignalError(
                    grpc.StatusCode.UNAVAILABLE, _after(f"the hub cannot store commands now: {exc}", accepted)
                ) from exc
            accepted.append(actuation.target)
        now = self.hub.clock.time()
        for signal, value in requests:
            self.targets[signal.path] = State(value, now, member)

    # -- publishing (the car's side) ------------------------------------------------------

    def publish(
        self, member: str, values: Sequence[tuple[KuksaSignal, Any]], ts: float | None = None
    ) -> None:
        """Report values as the car's provider; ``SignalError`` if not allowed or rejected."""
        if member not in self._providers:
            raise SignalError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{member} is not a provider of {self.home}/{self.device}: only the car's own"
                " providers publish its values (apps actuate with Actuate or set target values)",
            )
        # Every value is checked before any is applied: one bad value applies none.
        checked = {s.path: s.check(v) for s, v in values}
        report = self.hub.report(self.home, self.device, checked, ts=ts, source=SOURCE)
        if report.rejected:
            raise SignalError(
                grpc.StatusCode.INVALID_ARGUMENT, "; ".join(str(err) for err in report.rejected)
            )


def _after(reason: str, accepted: list[str]) -> str:
    if not accepted:
        return reason
    return f"{reason} (already accepted from this batch: {', '.join(accepted)})"
