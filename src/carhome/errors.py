"""carhome's one error tree.

Every error carhome raises on purpose is a ``CarhomeError``. Third-party errors are caught
where carhome meets the library (a connector, the store, the config loader) and re-raised
as one of these with ``from exc``.

    CarhomeError
    ├── ConfigError            a configuration file or value is wrong (file, line, key)
    ├── InvalidName            a home, device or place id is not a valid name
    ├── SpecError              a device spec or the signal catalog is inconsistent
    ├── InvalidValue           (carhome.spec.properties) a value breaks a property's format or range
    ├── InvalidChange          a reported value breaks its device's spec (device, property, reason)
    ├── UnknownDevice          no such device in this home
    ├── CommandError           a command could not be made or accepted
    │   ├── InvalidCommand     the target or arguments break the device's spec
    │   ├── CommandDenied      the gatekeeper refused it (who, why)
    │   ├── CommandTimeout     waited for a result longer than the caller allowed
    │   ├── DuplicateCommand   the command's id is taken: ids are unique on a hub for good
    │   └── DeviceRefused      a device would not execute a command (reason)
    │       └── SignatureRejected   (carhome.signing.verifier) the signature did not verify
    ├── InvalidKey             (carhome.signing.keys) not a usable P-256 key
    ├── MalformedSignature     (carhome.signing.envelope) not one canonical signature envelope
    ├── TranscriptTooLong      (carhome.signing.transcript) a field too long to sign
    ├── EnrollmentRejected     (carhome.signing.enrollment) a key could not be enrolled
    ├── SessionRefused         (carhome.signing.phone) a device's session answer is not genuine
    ├── KeyRefused             (carhome.signing.relay) a device or the relay refused a key operation
    ├── InvalidToken           (carhome.access.tokens) a token is malformed, forged, expired or revoked
    ├── LoginRefused           (carhome.access.logins) wrong credentials, or too many tries
    ├── WeakPassword           (carhome.access.passwords) a new password is too short
    ├── SetupRefused           (carhome.access.firstrun) no first owner: done already, wrong code, throttled
    ├── MemberError            (carhome.access.members) a member or grant operation cannot be done
    ├── PendingError           (carhome.signing.pending) a pending request cannot be made or settled
    ├── AccessSetupError       (carhome.access.service) the access files cannot be read or made
    ├── AutomationFileError    (carhome.automations.files) saving, enabling or deleting was refused
    │   ├── InvalidAutomation  the text does not make one valid automation (each error)
    │   ├── AutomationExists   an automation with this id is already loaded
    │   ├── UnknownAutomation  no automation with this id is loaded
    │   └── ReadOnlyAutomation it has no saved file (it comes from a base file)
    ├── BlueprintError         (carhome.automations.blueprints) a blueprint use is wrong (path)
    ├── BindError              (carhome.automations.binding) a name does not match the hub (path)
    ├── SceneError             (carhome.automations.scenes) a scene names what the hub lacks
    ├── WaitTimeout            (carhome.automations.actions) a wait ran out and the automation stops
    ├── ConversionError        (carhome.connectors.miio.mapping) a value has no miIO counterpart
    ├── ZigbeeValueError       (carhome.connectors.zigbee2mqtt.values) a value with no carhome counterpart
    ├── MetricError            (carhome.connectors.ovms.metrics) not a payload OVMS writes
    ├── Unsupported            (carhome.connectors.ovms.commands) a command OVMS cannot take
    ├── FieldError             (carhome.connectors.tesla.fields) not a payload a car sends
    ├── NotMapped              (carhome.connectors.sunspec.mapping) a SunSpec value carhome has no word for
    ├── SolverError            (carhome.energy.highs) the planner's solver found no optimum
    ├── HomePricesError        (carhome.energy.homeprices) the prices chosen at setup cannot be kept
    ├── Problem                (carhome.http.problems) an HTTP error the API answers (status, type)
    ├── BadFrame               (carhome.api.live) a WebSocket frame the API cannot take (code)
    ├── ApiError               (carhome.wire.problems) the hub's API refused a request (status, code, fields)
    ├── StoreError             the database refused or failed an operation
    │   ├── ChainMoved         (carhome.access.audit) another writer appended to the audit chain first
    │   └── Fenced             (carhome.fleet.partitions) a partition's epoch moved on: another worker owns it
    └── ConnectorError         a protocol peer is unreachable or misbehaves
        ├── BrokerUnavailable  the MQTT broker cannot be reached
        ├── OwnerUnavailable   (carhome.fleet.rpc) no worker took a home's command in time (a handover)
        ├── MalformedMessage   (carhome.mqtt.malformed) an MQTT topic or payload not decoded
        ├── DiscoveryInvalid   (carhome.connectors.homeassistant.schema) a discovery payload HA refuses
        ├── SignalError        (carhome.connectors.kuksa.errors) a KUKSA request was refused (status)
        ├── MiioError          (carhome.connectors.miio.client) a miIO device failed a request
        │   ├── MiioUnreachable    nothing answered the hello
        │   ├── MiioTokenRejected  the device does not take this token
        │   ├── MiioExpired        the deadline passed before the request was sent
        │   └── MiioDeviceError    the device answered with an error (code, message)
        ├── SunSpecError       (carhome.connectors.sunspec.client) a SunSpec device failed a request
        │   ├── SunSpecUnreachable  no connection or no answer in time
        │   ├── SunSpecRefused     the device answered with a Modbus exception
        │   └── SunSpecNotFound    no SunSpec map at any base tried
        ├── ShellyError        (carhome.connectors.shelly.connector) a Shelly failed a request
        │   ├── ShellyRefused      the Shelly answered with an error frame
        │   └── ShellyTimeout      no answer within the time allowed
        ├── ProviderError      (carhome.energy.providers.source) a price or solar provider gave nothing now
        │   └── BadAnswer          an answer not in the provider's documented format (code)
        └── WallboxRefused     (carhome.sim.chargepoint) the central system refused the simulated charger

A class drawn without a module lives in its parent's module (``carhome.errors`` at the top);
tests/test_error_tree.py holds this drawing to the code, and every exception class in the
package to the tree. The branches outside this module live beside the code that raises them,
so this module stays free of cryptography and of every library. Messages say what was wrong and
what to do; the structured fields let faces render them.
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

    retry_after: float | None = None
    """Seconds after which trying again may succeed, when the peer's absence is known to be short."""


class BrokerUnavailable(ConnectorError):
    """The MQTT broker cannot be reached."""
