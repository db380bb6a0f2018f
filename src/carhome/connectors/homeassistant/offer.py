"""What Home Assistant is offered: a device's entities cut to what its face may command.

Home Assistant does not enforce user privileges, so carhome's access policy
(``carhome.access.policy``) gives the ``homeassistant`` face no safety-critical command:
no car doors, home locks, garage or charging start, for any member. Offering Home
Assistant a lock it can never turn only made refusals it reported as success. So the
scopes the face may use are declared here as data (``HA_SCOPES``: the connector imports no
access part; a test keeps them equal to what the policy table gives the face), and
``offer`` keeps each entity's commands inside them:

- a choice whose commands the face may not send is dropped (a garage door keeps *stop*);
- an entity left with no command is shown read-only: a lock becomes a ``lock`` binary
  sensor, a switch a binary sensor (unless another entity shows the same state), a number
  or select a sensor, a button goes;
- a switch that keeps one side becomes a button for it (the car's "Charge" switch, whose
  *on* is a charging start, becomes "Stop charging").

Every device with a command left gets one ``event`` entity, ``command_result``, on which the
bridge reports what became of a command from Home Assistant that did not succeed
(``RESULTS``): refused by the gatekeeper, rejected, failed at the device, or expired.

The cut is what Home Assistant shows, not a decision: a command that arrives anyway (a
stale entity, an ``mqtt.publish``) still goes to the gatekeeper, which refuses it on record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Final

from carhome.connectors.homeassistant.entities import (
    Choices,
    CommandFn,
    EntityDescription,
    OwnTopic,
    Platform,
    Request,
    describe,
    key_of,
)
from carhome.mqtt import discovery_topics as topics
from carhome.spec import DeviceSpec

ORDINARY: Final = "ordinary"
"""The scope of a command in no safety domain (the policy's ``ordinary``)."""

HA_SCOPES: Final = frozenset({ORDINARY})
"""What the ``homeassistant`` face may command under the policy table: ordinary commands,
no safety domain (``carhome.access.policy.scopes_of(Face.HOMEASSISTANT)``)."""

RESULTS: Final = ("refused", "rejected", "failed", "expired")
"""The event types of ``command_result``: the gatekeeper said no; the bridge or the hub
could not make a valid command of it; the device answered that it failed; no answer in time."""

RESULT_KEY: Final = "command_result"

Allowed = Callable[[Request], bool]


def may(spec: DeviceSpec, scopes: frozenset[str] = HA_SCOPES) -> Allowed:
    """Whether a request on a device of ``spec`` is in ``scopes``."""

    def allowed(request: Request) -> bool:
        action = spec.actions.get(request.target) if request.kind == "action" else None
        domain = None if action is None else action.domain
        return (domain or ORDINARY) in scopes

    return allowed


def offered(spec: DeviceSpec, scopes: frozenset[str] = HA_SCOPES) -> tuple[EntityDescription, ...]:
    """The entities Home Assistant is offered for a device of ``spec``."""
    return offer(spec, describe(spec), scopes)


def offer(
    spec: DeviceSpec, entities: Iterable[EntityDescription], scopes: frozenset[str] = HA_SCOPES
) -> tuple[EntityDescription, ...]:
    """``entities`` with their commands kept to ``scopes``, plus ``command_result``."""
    allowed = may(spec, scopes)
    described = tuple(entities)
    out: dict[str, EntityDescription] = {}
    for entity in described:
        kept = _kept(entity.commands, allowed)
        if kept == dict(entity.commands):
            cut = [entity]
        else:
            others = {r for other in described if other is not entity for r in other.reads}
            cut = _cut(entity, kept, spec, shown_elsewhere=set(entity.reads) <= others)
        for each in cut:
            out.setdefault(each.key, each)  # a button for an action another entity also gave
    if any(e.commands for e in out.values()):
        out.setdefault(RESULT_KEY, _results())
    return tuple(out.values())


def _kept(commands: Mapping[str, CommandFn], allowed: Allowed) -> dict[str, CommandFn]:
    kept: dict[str, CommandFn] = {}
    for option, fn in commands.items():
        if isinstance(fn, Choices):
            table = {p: requests for p, requests in fn.table.items() if all(map(allowed, requests))}
            if table == dict(fn.table):
                kept[option] = fn
            elif table:
                kept[option] = Choices(table)
        elif all(map(allowed, fn.asks())):
            kept[option] = fn
    return kept


def _cut(
    entity: EntityDescription, kept: dict[str, CommandFn], spec: DeviceSpec, *, shown_elsewhere: bool
) -> list[EntityDescription]:
    """``entity`` with only the ``kept`` commands, as Home Assistant can show that."""
    platform = entity.platform
    if platform is Platform.COVER:
        return [_cover(entity, kept)]
    if platform is Platform.CLIMATE:
        return [_climate(entity, kept)]
    if platform is Platform.BUTTON:
        return [replace(entity, commands=kept)] if kept else []
    whole = {option: fn for option, fn in kept.items() if fn is entity.commands[option]}
    if whole == kept and kept:
        # a number or select keeps what it could always do; only whole options went
        return [replace(entity, commands=kept)]
    # A lock or switch cannot show half its choices: the state read-only, a button per choice left.
    shown = [] if shown_elsewhere else [_read_only(entity)]
    left = kept.get("command_topic")
    table = left.table if isinstance(left, Choices) else {}
    return [*shown, *(_button(spec, entity, payload, requests) for payload, requests in table.items())]


def _cover(entity: EntityDescription, kept: dict[str, CommandFn]) -> EntityDescription:
    left = kept.get("command_topic")
    if not isinstance(left, Choices):
        return replace(entity, commands={})  # a cover without a command topic only shows
    options = dict(entity.options)
    for payload in ("OPEN", "CLOSE", "STOP"):
        if payload not in left.table:
            options[f"payload_{payload.lower()}"] = None  # Home Assistant then offers no such button
    return replace(entity, commands=kept, options=options)


def _climate(entity: EntityDescription, kept: dict[str, CommandFn]) -> EntityDescription:
    options = dict(entity.options)
    for option, listed in (("mode_command_topic", "modes"), ("fan_mode_command_topic", "fan_modes")):
        left = kept.get(option)
        if isinstance(left, Choices) and listed in options:
            options[listed] = [m for m in options[listed] if m in left.table]
    return replace(entity, commands=kept, options=options)


def _read_only(entity: EntityDescription) -> EntityDescription:
    """The entity's state without its commands, on a platform that shows state only."""
    template = {"value_template": entity.templates["value_template"]}
    if entity.platform is Platform.LOCK:
        locked, unlocked = entity.options["state_locked"], entity.options["state_unlocked"]
        return replace(
            entity,
            platform=Platform.BINARY_SENSOR,
            device_class="lock",  # on means unlocked
            templates=template,
            options={"payload_on": unlocked, "payload_off": locked},
            commands={},
        )
    if entity.platform is Platform.SWITCH:
        on, off = entity.options["state_on"], entity.options["state_off"]
        return replace(
            entity,
            platform=Platform.BINARY_SENSOR,
            templates=template,
            options={"payload_on": on, "payload_off": off},
            commands={},
        )
    options = {k: v for k, v in entity.options.items() if k == "options"}
    device_class = "enum" if options else None
    return replace(entity, platform=Platform.SENSOR, device_class=device_class, options=options, commands={})


def _button(
    spec: DeviceSpec, entity: EntityDescription, payload: str, requests: tuple[Request, ...]
) -> EntityDescription:
    """A button that does what ``payload`` did on ``entity`` (named for the action it runs)."""
    action = spec.actions.get(requests[0].target) if len(requests) == 1 else None
    if action is not None and requests[0].kind == "action":
        key = key_of(action.name)
        name = action.description.rstrip(".") or action.name.replace("_", " ").capitalize()
    else:
        key, name = key_of(f"{entity.key}_{payload}"), f"{entity.name or entity.key} {payload.lower()}"
    return EntityDescription(
        key=key,
        platform=Platform.BUTTON,
        name=name,
        covers=tuple(r.target for r in requests),
        commands={"command_topic": Choices({"PRESS": requests})},
    )


def _results() -> EntityDescription:
    return EntityDescription(
        key=RESULT_KEY,
        platform=Platform.EVENT,
        name="Command result",
        options={"event_types": list(RESULTS)},
        own={"state_topic": OwnTopic(topics.RESULT)},
    )
