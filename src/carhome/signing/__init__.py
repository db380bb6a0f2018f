"""Access: who may command what, and the end-to-end signatures safety-critical commands carry.

The signing protocol (docs/signing.md) has three sides: the phone (``PhoneSession``,
``KeyPair``), the device (``DeviceVerifier``, ``Enroller``, ``KeyStore``), and the shared
wire forms (``Envelope``, ``SessionRequest``, ``SessionInfo``, ``EnrollmentRequest``).
"""

from carhome.signing.counters import CounterWindow, MemoryVerifierStore, VerifierState, VerifierStore
from carhome.signing.enrollment import Enroller, EnrollmentRejected, approve, request_enrollment
from carhome.signing.envelope import CommandFields, Envelope, domain_of
from carhome.signing.keys import EnrolledKey, InvalidKey, KeyPair, KeyStore, PublicKey
from carhome.signing.phone import PhoneSession, SessionRefused, session_request
from carhome.signing.session import SessionInfo, SessionRequest
from carhome.signing.verifier import DeviceVerifier, Reason, SignatureRejected, Verdict
from carhome.wire.keys import EnrollmentChallenge, EnrollmentRequest
from carhome.wire.members import Role

__all__ = [
    "CommandFields",
    "CounterWindow",
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
