"""The say feature on the wire (``POST /api/say``): a request in words, and what became of it.

``SayResult.status`` is one of ``done`` (a command was accepted; ``command_status`` follows
it to ``acked``, ``failed`` or ``expired`` when the client waited), ``question`` (answered
from live state), ``ambiguous`` (several devices fit: ``candidates``, nothing executed),
``refused`` (the member may not, or the command needs a signature the hub cannot make;
nothing executed) and ``not_understood`` (``answer`` says what, with an example).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Status = Literal["done", "question", "ambiguous", "refused", "not_understood"]

MAX_TEXT = 500
MAX_WAIT = 60.0


class SayRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/say``: the words, and optionally their language, the home and how long
    to wait for a command's acknowledgement (seconds, 0 = answer as soon as it is sent)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
    language: Literal["en", "zh"] | None = None
    home: str | None = None
    wait: Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT)] = 0.0
    here: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    """the device or room the request is made from: of several devices that fit, the one
    there is meant (the cabin view sends its car)"""


class DeviceRef(msgspec.Struct, frozen=True):
    """A device an answer speaks of, named as the answer names it."""

    home: str
    id: str
    name: str


class Proposal(msgspec.Struct, frozen=True):
    """The command a request meant, when the hub refused it only for want of the member's own
    signature: a client holding a key enrolled on the device (the web app, the CLI) may sign
    it and send it itself, so a spoken "close the garage" still works end to end."""

    home: str
    device: str
    kind: Literal["set", "action"]
    target: str
    args: dict[str, Any]


class SayResult(msgspec.Struct, kw_only=True):
    language: Literal["en", "zh"]
    text: str
    understood: bool
    intent: str | None
    status: Status
    answer: str
    devices: list[DeviceRef] = msgspec.field(default_factory=list)
    candidates: list[DeviceRef] = msgspec.field(default_factory=list)
    commands: list[str] = msgspec.field(default_factory=list)
    command_status: str | None = None
    target: str | None = None
    """the action or property of the command or question"""
    reason: str | None = None
    """why not: the gatekeeper's reason, the device's error, or what was not understood"""
    sign: Proposal | None = None
    """the command to sign and send, when it was refused only because it was unsigned"""
