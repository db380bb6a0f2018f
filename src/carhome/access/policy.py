"""The one policy table: who may do what, from which face, as data.

Every command, from every face, is classed into a *scope* — ``ordinary`` (a property
write or an action with no safety domain), one of the safety-critical domains of the
device specs (``car_doors``, ``home_lock``, ``garage``, ``charging``), or an administrative
operation (``manage_members``, ``enroll_keys``, ``manage_automations``) — and looked up by
role × scope × face.
The answer is an ``Effect``: ``allow``; ``grant`` (only within a live guest grant that
covers the target); ``named_grant`` (only within a live grant that names the target,
never by ``*``); or ``deny``. A combination missing from the table is denied. Time enters
through the grants' windows and use counts.

Signatures are a choice per domain and device, not for the hub as a whole: a safety-critical
command needs the member's signature, except in a domain of ``TRUSTABLE`` on a device an
owner has trusted for it (``UnsignedTrust``) — a charger that cannot verify signatures,
trusted for charging alone. Doors, locks and the garage can never be trusted so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

import msgspec

from carhome.parts.access import MANAGE_AUTOMATIONS
from carhome.spec.devices import CAR_DOORS, CHARGING, GARAGE, HOME_LOCK
from carhome.wire.members import Role


class Face(enum.StrEnum):
    """Where a command came from (``Command.face``)."""

    CLI = "cli"
    API = "api"
    WEBSOCKET = "websocket"
    AUTOMATION = "automation"
    CABIN = "cabin"
    HOMEASSISTANT = "homeassistant"
    KUKSA = "kuksa"


class Effect(enum.StrEnum):
    ALLOW = "allow"
    GRANT = "grant"
    NAMED_GRANT = "named_grant"
    DENY = "deny"


ORDINARY: Final = "ordinary"
MANAGE_MEMBERS: Final = "manage_members"
ENROLL_KEYS: Final = "enroll_keys"
SAFETY_DOMAINS: Final = (CAR_DOORS, HOME_LOCK, GARAGE, CHARGING)
COMMAND_SCOPES: Final = (ORDINARY, *SAFETY_DOMAINS)
ADMIN_SCOPES: Final = (MANAGE_MEMBERS, ENROLL_KEYS, MANAGE_AUTOMATIONS)
SCOPES: Final = (*COMMAND_SCOPES, *ADMIN_SCOPES)


TRUSTABLE: Final = (CHARGING,)
"""Domains in which an owner may trust one device to take unsigned commands."""


class UnsignedTrust(msgspec.Struct, frozen=True, kw_only=True):
    """An owner's explicit choice: ``device`` takes unsigned commands of ``domain``, and only it."""

    home: str
    device: str
    domain: str
    owner: str


class Rule(msgspec.Struct, frozen=True):
    role: Role
    scopes: tuple[str, ...]
    faces: tuple[Face, ...]
    effect: Effect
    why: str


_ALL_FACES: Final = tuple(Face)
# Faces a person drives directly; automations act for their author, the Home Assistant
# bridge for whoever can reach Home Assistant (which does not enforce user privileges),
# and KUKSA for apps in the car.
_PEOPLE: Final = (Face.CLI, Face.API, Face.WEBSOCKET, Face.CABIN)
_NOT_HA: Final = tuple(f for f in Face if f is not Face.HOMEASSISTANT)
_ADMIN_FACES: Final = (Face.CLI, Face.API)

POLICY: Final[tuple[Rule, ...]] = (
    Rule(Role.OWNER, (ORDINARY,), _ALL_FACES, Effect.ALLOW, "owners run the home"),
    Rule(Role.OWNER, SAFETY_DOMAINS, _NOT_HA, Effect.ALLOW, "owners run the home"),
    Rule(Role.OWNER, ADMIN_SCOPES, _ADMIN_FACES, Effect.ALLOW, "owners manage members, keys and automations"),
    Rule(Role.FAMILY, (ORDINARY,), _ALL_FACES, Effect.ALLOW, "family may use every device"),
    Rule(Role.FAMILY, SAFETY_DOMAINS, _NOT_HA, Effect.ALLOW, "family may use every device"),
    Rule(Role.GUEST, (ORDINARY,), _PEOPLE, Effect.GRANT, "guests act within their grants"),
    Rule(Role.GUEST, SAFETY_DOMAINS, _PEOPLE, Effect.NAMED_GRANT, "a guest's grant must name it"),
)
"""The table. Not listed, therefore denied: any safety-critical command through the Home
Assistant bridge; family and guests managing members, enrolling keys or editing automations; administration
from any face but the CLI and the API; guests through automations, Home Assistant, KUKSA."""


class Policy:
    """The table indexed by (role, scope, face); checked for contradictions when made."""

    def __init__(self, rules: Iterable[Rule] = POLICY) -> None:
        self._index: dict[tuple[Role, str, Face], Rule] = {}
        for rule in rules:
            for scope in rule.scopes:
                if scope not in SCOPES:
                    raise ValueError(f"policy rule names unknown scope {scope!r}")
                for face in rule.faces:
                    key = (rule.role, scope, face)
                    if key in self._index:
                        raise ValueError(f"policy lists {key} twice")
                    self._index[key] = rule

    def rule(self, role: Role, scope: str, face: Face) -> Rule | None:
        return self._index.get((role, scope, face))

    def effect(self, role: Role, scope: str, face: Face) -> Effect:
        rule = self._index.get((role, scope, face))
        return Effect.DENY if rule is None else rule.effect


def scope_of(kind: str, domain: str | None) -> str:
    """The scope of a command: its action's safety domain, else ``ordinary``."""
    return domain if kind == "action" and domain is not None else ORDINARY


def scopes_of(face: Face, policy: Policy | None = None) -> frozenset[str]:
    """The command scopes some role may use from ``face`` (within grants, for a guest)."""
    table = policy or Policy()
    return frozenset(
        scope
        for scope in COMMAND_SCOPES
        if any(table.effect(role, scope, face) is not Effect.DENY for role in Role)
    )
