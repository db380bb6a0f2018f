"""carhome's one error tree.

Every error carhome raises on purpose is a ``CarhomeError``. Third-party errors are caught
where carhome meets the library (a connector, the store, the config loader) and re-raised
as one of these with ``from exc``.

    CarhomeError
    ├── ConfigError            a configuration file or value is wrong (file, line, key)
    ├── InvalidName            a home, device or place id is not a valid name
    ├── SpecError              a device spec or the signal catalog is inconsistent
    ├── InvalidChange          a reported value breaks its device's spec (device, property, reason)
    ├── UnknownDevice          no such device in this home
    ├── CommandError           a command could not be made or accepted
    │   ├── InvalidCommand     the target or arguments break the device's spec
    │   ├── CommandDenied      the gatekeeper refused it (who, why)
    │   ├── CommandTimeout     waited for a result longer than the caller allowed
    │   ├── DuplicateCommand   the command's id is taken: ids are unique on a hub for good
    │   └── DeviceRefused      a device would not execute a command (reason)
    │       └── SignatureRejected   (carhome.access.verifier) the signature did not verify
    ├── InvalidKey             (carhome.access.keys) not a usable P-256 key
    ├── EnrollmentRejected     (carhome.access.enrollment) a key could not be enrolled
    ├── SessionRefused         (carhome.access.phone) a device's session answer is not genuine
    ├── ApiError               (carhome.wire.problems) the hub's API refused a request (status, code, fields)
    ├── StoreError             the database refused or failed an operation
    └── ConnectorError         a protocol peer is unreachable or misbehaves
        └── BrokerUnavailable  the MQTT broker cannot be reached

The access branches live beside the code that raises them, so this module stays free of
cryptography. Messages say what was wrong and what to do; the structured fields let faces render them.
"""

from __future__ import annotations

from collections.abc import Sequence


class CarhomeError(Exception):
    """Base of every error carhome raises on purpose."""


class ConfigError(CarhomeError):
    """A configuration file or value is wrong: ``file:line: path: message``.

    ``path`` is where inside the file's document (``homes[0].devices[1].type``); ``reason``
    is the message with its path, without the file and line."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, path: str | None = None
    ) -> None:
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        reason = f"{path}: {message}" if path else message
        super().__init__(f"{where}{reason}")
        self.file = file
        self.line = line
        self.path = path or None
        self.reason = reason


class InvalidName(CarhomeError, ValueError):
    """A home, device or place id is not a valid name (also a ValueError, for decoders)."""


class SpecError(CarhomeError):
    """A device spec or the signal catalog is inconsistent."""


class InvalidChange(CarhomeError):
    """A value reported for a device breaks that device's spec.

    ``code`` is a short stable reason (``unknown_property``, ``wrong_type``,
    ``out_of_range``, ``not_allowed``, ``not_readable``) used for counting.
    """

    def __init__(
        self,
        *,
        home: str,
        device: str,
        prop: str | None,
        code: str,
        reason: str,
        allowed: str | None = None,
    ) -> None:
        target = f"{home}/{device}" + (f" property {prop!r}" if prop else "")
        tail = f"; allowed: {allowed}" if allowed else ""
        super().__init__(f"{target}: {reason}{tail}")
        self.home = home
        self.device = device
        self.prop = prop
        self.code = code
        self.reason = reason
        self.allowed = allowed


class UnknownDevice(CarhomeError):
    """No device with this id in this home."""

    def __init__(self, home: str, device: str, known: Sequence[str] = ()) -> None:
        hint = f"; known devices: {', '.join(sorted(known)[:20])}" if known else ""
        super().__init__(f"home {home!r} has no device {device!r}{hint}")
        self.home = home
        self.device = device


class CommandError(CarhomeError):
    """A command could not be made or accepted."""


class InvalidCommand(CommandError):
    """A command's target or arguments break the device's spec."""

    def __init__(self, *, device: str, target: str, reason: str, allowed: str | None = None) -> None:
        tail = f"; allowed: {allowed}" if allowed else ""
        super().__init__(f"{device} {target}: {reason}{tail}")
        self.device = device
        self.target = target
        self.reason = reason
        self.allowed = allowed


class CommandDenied(CommandError):
    """The gatekeeper refused a command."""

    def __init__(self, *, member: str, device: str, target: str, reason: str) -> None:
        super().__init__(f"{member} may not {target} on {device}: {reason}")
        self.member = member
        self.device = device
        self.target = target
        self.reason = reason


class CommandTimeout(CommandError):
    """A command had no final result within the time the caller waited."""


class DuplicateCommand(CommandError):
    """A command came with an id the hub has used before: ids are unique on a hub for good,
    so a reused id never rewrites another command's record."""

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"command id {command_id!r} is taken (a command id is used once, for good);"
            " send the command again under a new id"
        )
        self.command_id = command_id


class DeviceRefused(CommandError):
    """A device would not execute a command; ``reason`` goes back in the failed ack."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StoreError(CarhomeError):
    """The database refused or failed an operation."""


class ConnectorError(CarhomeError):
    """A protocol peer is unreachable or misbehaves."""


class BrokerUnavailable(ConnectorError):
    """The MQTT broker cannot be reached."""
