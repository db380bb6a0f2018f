"""Signing: the end-to-end protocol phones, the hub's relay and devices share (docs/signing.md).

A safety-critical command carries a signature from the member's own key, which the device
checks, so neither the broker nor the hub can forge, replay or stretch one. This package
is that protocol and nothing else: it imports no policy, no hub and no face, so a device,
a connector or the simulator embeds it without the hub's access part.

One module per noun:

- ``transcript``: the one canonical byte form of everything signed or MACed;
- ``keys``: P-256 key pairs, public keys, enrolled keys and a device's key store;
- ``roles``: what a key's holder is to the home;
- ``session``: how a phone and a device agree on a key for one device epoch;
- ``envelope``: the fields a signature binds (``CommandFields``) and the signature string;
- ``counters``: the counter windows and the verifier's durable state;
- ``verifier``: the device side that decides each command (``DeviceVerifier``);
- ``enrollment``: adding a phone's key to a device, with an owner's approval and the code;
- ``keeper``: a device's keys, enrollment, revocation, delegates and verifier in one
  directory (``DeviceKeys``);
- ``phone``: the phone side that opens sessions and signs (``PhoneSession``);
- ``relay``: the key asks a hub relays between phones and devices, and the device's answers;
- ``pending``: enrollment requests the relay holds until an owner approves them.

A device checks the ids it is known by with the hub's rule, ``carhome.names``, which sits
below both.

The phone's key ring and its client of the hub's key routes stand on the wire, above this
package: ``carhome.wire.keyclient``.
"""

from carhome.signing.counters import CounterWindow, MemoryVerifierStore, VerifierState, VerifierStore
from carhome.signing.enrollment import (
    Enroller,
    EnrollmentChallenge,
    EnrollmentRejected,
    EnrollmentRequest,
    approve,
    request_enrollment,
)
from carhome.signing.envelope import CommandFields, CommandKind, Envelope, domain_of
from carhome.signing.keeper import DeviceKeys, Revocation
from carhome.signing.keys import EnrolledKey, InvalidKey, KeyPair, KeyStore, PublicKey
from carhome.signing.phone import PhoneSession, SessionRefused, session_request
from carhome.signing.roles import Role
from carhome.signing.session import SessionInfo, SessionRequest
from carhome.signing.verifier import DeviceVerifier, Reason, SignatureRejected, Verdict

__all__ = [
    "CommandFields",
    "CommandKind",
    "CounterWindow",
    "DeviceKeys",
    "DeviceVerifier",
    "EnrolledKey",
    "Enroller",
    "EnrollmentChallenge",
    "EnrollmentRejected",
    "EnrollmentRequest",
    "Envelope",
    "InvalidKey",
    "KeyPair",
    "KeyStore",
    "MemoryVerifierStore",
    "PhoneSession",
    "PublicKey",
    "Reason",
    "Revocation",
    "Role",
    "SessionInfo",
    "SessionRefused",
    "SessionRequest",
    "SignatureRejected",
    "Verdict",
    "VerifierState",
    "VerifierStore",
    "approve",
    "domain_of",
    "request_enrollment",
    "session_request",
]
