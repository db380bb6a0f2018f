"""The public surface is pinned: changing it is a decision, not an accident."""

import importlib

import carhome
from carhome.signing.enrollment import EnrollmentRejected
from carhome.signing.keys import InvalidKey
from carhome.signing.phone import SessionRefused
from carhome.signing.verifier import SignatureRejected

SURFACE = {
    "carhome": {"__version__"},
    "carhome.clock": {"Clock", "ScaledClock", "SystemClock"},
    "carhome.errors": {
        "BrokerUnavailable", "CarhomeError", "CommandDenied", "CommandError", "CommandTimeout",
        "ConfigError", "ConnectorError", "DeviceRefused", "InvalidChange", "InvalidCommand",
        "InvalidName", "SpecError", "StoreError", "UnknownDevice",
    },
    "carhome.hub": {"Ack", "Change", "Command", "CommandStatus", "Device", "Home", "Hub", "Place", "State"},
    "carhome.spec": {"SPECS", "DeviceSpec"},
}  # fmt: skip
"""Each public name, by the module that owns it: moving one is a decision too."""


def test_public_exports_are_pinned() -> None:
    assert sorted(carhome.__all__) == sorted(name for names in SURFACE.values() for name in names)
    assert len(carhome.__all__) == len(set(carhome.__all__))
    for module, names in SURFACE.items():
        owner = importlib.import_module(module)
        for name in names:
            assert getattr(carhome, name) is getattr(owner, name), name


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
