"""Who a request acts for, what they may read, and where it came from.

``RequireLogin`` (``carhome.api.auth``) asks the hub's ``Authenticator`` for each request's
``Principal`` and ``View`` and keeps them in the request's state; a route reads them with
``principal_of`` and ``view_of``, and the address the request came from with
``client_address``. Access control (``carhome.access``) provides the authenticator that
checks bearer tokens; ``Fixed`` is the one of an app built without access control (tests and
embedding code that has already decided who acts).

What a member may *read* is their ``View``: owners and family see their whole home
(``EVERYTHING``); a guest sees only the devices their live grants name, and a device's
location only when a grant names it. Every face reads through it: the device list and
details, the command list, the WebSocket, history, charging and the say answers.
"""

from __future__ import annotations

import ipaddress
from typing import Final, Protocol, runtime_checkable

import msgspec
from starlette.requests import HTTPConnection

from carhome.http.problems import Problem


class Principal(msgspec.Struct, frozen=True):
    """The member a request acts for; ``home`` None means every home (no access control)."""

    member: str
    home: str | None = None
    session: str | None = None
    role: str | None = None
    expires: float | None = None
    """When the access token it came with expires (None: no token, no end)."""

    def sees(self, home: str) -> bool:
        return self.home is None or self.home == home

    @property
    def may_change_settings(self) -> bool:
        """Owners and family change a home's settings (charging modes, prices); guests do not."""
        return self.role in (None, "owner", "family")


def principal_of(connection: HTTPConnection) -> Principal:
    """The principal ``RequireLogin`` found for this request."""
    found = connection.scope.get("state", {}).get("principal")
    if not isinstance(found, Principal):  # pragma: no cover - RequireLogin runs first
        raise unauthorized("no access token")
    return found


class View:
    """What a principal may read. This one is everything in their home (owners, family, an
    app without access control); access control's guest view narrows it to what a guest's
    live grants name, looked up afresh at each question (a grant that ends or is withdrawn
    stops showing its devices at once, on a live WebSocket too)."""

    @property
    def everything(self) -> bool:
        """True for owners, family and an app without access control."""
        return True

    def sees(self, device: str) -> bool:
        """Whether the principal may see ``device`` of their home at all."""
        return True

    def sees_property(self, device: str, prop: str) -> bool:
        """Whether the principal may read ``prop`` of ``device`` (a location needs naming)."""
        return True

    def sees_either(self, device: str, prop: str | None) -> bool:
        """``sees`` for ``prop`` None, else ``sees_property``."""
        return self.sees(device) if prop is None else self.sees_property(device, prop)

    def sees_location(self, device: str) -> bool:
        """Whether the principal may see where ``device`` is (or was: trips, charges)."""
        return True


EVERYTHING: Final = View()


def view_of(connection: HTTPConnection) -> View:
    """The ``View`` of the principal ``RequireLogin`` found for this request."""
    found = connection.scope.get("state", {}).get("view")
    return found if isinstance(found, View) else EVERYTHING


class Authenticator(Protocol):
    def principal(self, connection: HTTPConnection) -> Principal:
        """The request's member, or a 401 ``Problem``."""
        ...

    def view(self, principal: Principal) -> View:
        """What ``principal`` may read."""
        ...


@runtime_checkable
class TokenAuthenticator(Authenticator, Protocol):
    """An authenticator of bearer tokens, which the WebSocket's frames carry too."""

    def check(self, token: str) -> Principal:
        """The member ``token`` is an access token of, or a 401 ``Problem``."""
        ...


class Fixed:
    """Every request acts for one member: an app without access control."""

    def __init__(self, member: str) -> None:
        self._principal = Principal(member)

    def principal(self, connection: HTTPConnection) -> Principal:
        return self._principal

    def view(self, principal: Principal) -> View:
        return EVERYTHING


def unauthorized(reason: str) -> Problem:
    problem = Problem(
        401,
        "unauthorized",
        "Not logged in",
        f"{reason}; log in again (`carhome login`, or the web app's login page) and send the"
        " access token as 'Authorization: Bearer <access token>'",
        reason=reason,
    )
    problem.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{reason}"'
    return problem


def client_address(connection: HTTPConnection) -> str:
    """Where a request comes from (``carhome.api.auth.TrustedProxies``); ``unknown`` if the
    server did not say."""
    found = connection.scope.get("state", {}).get("address")
    if isinstance(found, str):
        return found
    return connection.client.host if connection.client is not None else "unknown"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
