"""The topics of one OVMS module's MQTT server (server v3), as a value with behaviour.

Every topic starts with the module's prefix: ``ovms/<server.v3 user>/<vehicle id>/`` unless
its ``server.v3 topic.prefix`` says otherwise. Under it (``ovms_server_v3.cpp``):

- ``metric/<name with / for .>``: one metric's value as text, retained, QoS 0;
  ``metric/s/v3/connected`` is ``yes`` while the module is connected and ``no`` by its will;
- ``client/<client id>/command/<command id>``: a shell command for the module to run;
- ``client/<client id>/response/<command id>``: what the command printed, QoS 1;
- ``client/<client id>/active``: ``1`` while a client wants frequent updates, ``0`` when it
  leaves (a client not heard from for two minutes is dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from carhome.errors import ConfigError

_LEVEL: Final = re.compile(r"[^/+#\x00]+")
_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}")

Kind = Literal["metric", "response"]


def check_level(what: str, value: str) -> str:
    """``value`` if it can be one topic level; ``ConfigError`` if not."""
    if not _LEVEL.fullmatch(value):
        raise ConfigError(f"{what} {value!r} cannot be a topic level: no '/', '+', '#' and not empty")
    return value


def is_command_id(value: str) -> bool:
    """Whether ``value`` can name a command in a topic: 1-100 letters, digits, ``_.-``."""
    return _ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class ModuleTopics:
    """One module's topics, for carhome's client id."""

    prefix: str
    client: str

    @classmethod
    def of(cls, *, user: str | None, vehicle: str, client: str, prefix: str | None = None) -> ModuleTopics:
        """The topics of the module ``vehicle`` of the server user ``user`` (or under ``prefix``)."""
        check_level("client id", client)
        if prefix is None:
            if user is None:
                raise ConfigError("name the module's server v3 user, or its topic prefix")
            prefix = f"ovms/{check_level('user', user)}/{check_level('vehicle id', vehicle)}/"
        elif not prefix.endswith("/") or "+" in prefix or "#" in prefix or prefix.startswith("/"):
            raise ConfigError(f"topic prefix {prefix!r} must end with '/' and hold no '+' or '#'")
        return cls(prefix, client)

    @property
    def metrics(self) -> str:
        """The filter of every metric."""
        return f"{self.prefix}metric/#"

    @property
    def responses(self) -> str:
        """The filter of the answers to carhome's commands."""
        return f"{self.prefix}client/{self.client}/response/+"

    @property
    def active(self) -> str:
        return f"{self.prefix}client/{self.client}/active"

    def command(self, command_id: str) -> str:
        return f"{self.prefix}client/{self.client}/command/{command_id}"

    def parse(self, topic: str) -> tuple[Kind, str] | None:
        """(``metric``, its path) or (``response``, the command id) for a topic of this
        module, or ``None`` for any other topic."""
        if not topic.startswith(self.prefix):
            return None
        rest = topic[len(self.prefix) :]
        if rest.startswith("metric/"):
            return "metric", rest[len("metric/") :]
        answers = f"client/{self.client}/response/"
        if rest.startswith(answers) and "/" not in rest[len(answers) :]:
            return "response", rest[len(answers) :]
        return None
