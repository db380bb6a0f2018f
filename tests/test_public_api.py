"""The public surface is pinned: changing it is a decision, not an accident."""

import carhome
from carhome.signing.enrollment import EnrollmentRejected
from carhome.signing.keys import InvalidKey
from carhome.signing.phone import SessionRefused
from carhome.signing.verifier import SignatureRejected


def test_public_exports_are_pinned() -> None:
    assert sorted(carhome.__all__) == sorted(
        [
            "SPECS",
            "Ack",
            "BrokerUnavailable",
            "CarhomeError",
            "Change",
            "Clock",
            "Command",
            "CommandDenied",
            "CommandError",
            "CommandStatus",
            "CommandTimeout",
            "ConfigError",
            "ConnectorError",
            "Device",
            "DeviceRefused",
            "DeviceSpec",
            "Home",
            "Hub",
            "InvalidChange",
            "InvalidCommand",
            "InvalidName",
            "Place",
            "ScaledClock",
            "SpecError",
            "State",
            "StoreError",
            "SystemClock",
            "UnknownDevice",
            "__version__",
        ]
    )
    for name in carhome.__all__:
        assert hasattr(carhome, name), name


def test_every_error_is_a_carhome_error() -> None:
    for error in (
        EnrollmentRejected,
        InvalidKey,
        SessionRefused,
        SignatureRejected,
        carhome.InvalidChange,
        carhome.BrokerUnavailable,
        carhome.InvalidName,
    ):
        assert issubclass(error, carhome.CarhomeError)
    assert issubclass(SignatureRejected, carhome.DeviceRefused)
