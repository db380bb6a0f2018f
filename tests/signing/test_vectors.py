"""The implementation against the published test vectors in docs/signing-vectors.json.

Where it can, the check recomputes a value without carhome (ECDH, HKDF and HMAC straight
from ``cryptography`` and ``hmac``), so a vector is evidence, not a mirror.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from signing_vectors import VECTORS, build

from carhome.signing import (
    CommandFields,
    DeviceVerifier,
    EnrolledKey,
    EnrollmentChallenge,
    KeyPair,
    KeyStore,
    MemoryVerifierStore,
    PhoneSession,
    PublicKey,
    Reason,
    Role,
    SessionRequest,
)
from carhome.signing.enrollment import enrollment_transcript, presence_transcript
from carhome.signing.envelope import command_transcript
from carhome.signing.session import session_context
from carhome.spec.devices import CAR
from carhome.testing import FakeClock


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


def test_the_published_file_is_what_the_generator_makes(vectors: dict[str, Any]) -> None:
    assert vectors == json.loads(json.dumps(build()))


def test_session_keys_from_ecdh_and_hkdf(vectors: dict[str, Any]) -> None:
    phone = ec.derive_private_key(int(vectors["phone"]["private_scalar"], 16), ec.SECP256R1())
    device_pub = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), bytes.fromhex(vectors["device"]["public"])
    )
    secret = phone.exchange(ec.ECDH(), device_pub)
    assert secret.hex() == vectors["session"]["ecdh_secret"]
    info = bytes.fromhex(vectors["session"]["hkdf_info"])
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=info).derive(secret)
    assert okm[:32].hex() == vectors["session"]["command_key"]
    assert okm[32:].hex() == vectors["session"]["info_key"]
    d = vectors["device"]
    assert (
        session_context(
            home=d["home"],
            device=d["device"],
            epoch=bytes.fromhex(d["epoch"]),
            phone=PublicKey.from_hex(vectors["phone"]["public"]),
            device_key=PublicKey.from_hex(d["public"]),
        )
        == info
    )
    assert PublicKey.from_hex(vectors["phone"]["public"]).key_id.hex() == vectors["phone"]["key_id"]


def test_command_transcripts_and_tags(vectors: dict[str, Any]) -> None:
    key = bytes.fromhex(vectors["session"]["command_key"])
    d = vectors["device"]
    for case in vectors["commands"]:
        data = command_transcript(
            CommandFields(**case["fields"]),
            domain=case["domain"],
            home=d["home"],
            device=d["device"],
            epoch=bytes.fromhex(d["epoch"]),
            expires_at=case["expires_at"],
            counter=case["counter"],
        )
        assert data.hex() == case["transcript"]
        assert hmac.new(key, data, hashlib.sha256).hexdigest() == case["tag"]


def _device(vectors: dict[str, Any]) -> tuple[DeviceVerifier, FakeClock]:
    d = vectors["device"]
    clock = FakeClock()
    keys = KeyStore(
        (EnrolledKey(point=bytes.fromhex(vectors["phone"]["public"]), role=Role.OWNER, member="ana"),)
    )
    verifier = DeviceVerifier(
        home=d["home"],
        device=d["device"],
        spec=CAR,
        key=KeyPair.from_scalar(int(d["private_scalar"], 16)),
        keys=keys,
        store=MemoryVerifierStore(),
        clock=clock,
        entropy=lambda n: bytes.fromhex(d["epoch"])[:n],
    )
    clock.set(clock.time() + vectors["session_info"]["clock"])
    return verifier, clock


def test_device_answers_the_session_request_and_accepts_the_vectors(vectors: dict[str, Any]) -> None:
    verifier, _ = _device(vectors)
    request = vectors["session_info"]["request"]
    info = verifier.session_info(
        SessionRequest(phone_key=bytes.fromhex(request["phone_key"]), nonce=bytes.fromhex(request["nonce"]))
    )
    assert info.tag.hex() == vectors["session_info"]["tag"]
    assert info.clock == vectors["session_info"]["clock"]
    for case in vectors["commands"]:
        f = case["fields"]
        fields = CommandFields(**f)
        assert verifier.verify(fields, case["signature"]).reason is Reason.ACCEPTED
        assert verifier.verify(fields, case["signature"]).reason is Reason.REPLAYED


def test_phone_signs_the_vectors(vectors: dict[str, Any]) -> None:
    verifier, _ = _device(vectors)
    request = vectors["session_info"]["request"]
    req = SessionRequest(phone_key=bytes.fromhex(request["phone_key"]), nonce=bytes.fromhex(request["nonce"]))
    session = PhoneSession(
        key=KeyPair.from_scalar(int(vectors["phone"]["private_scalar"], 16)),
        device_key=PublicKey.from_hex(vectors["device"]["public"]),
        request=req,
        info=verifier.session_info(req),
        now=1000.0,
    )
    first, second = vectors["commands"][:2]
    assert (
        session.sign(CommandFields(**first["fields"]), domain=first["domain"], now=1000.0, ttl=30)
        == first["signature"]
    )
    assert (
        session.sign(CommandFields(**second["fields"]), domain=second["domain"], now=1015.0, ttl=30)
        == second["signature"]
    )


def test_enrollment_transcripts(vectors: dict[str, Any]) -> None:
    e, d = vectors["enrollment"], vectors["device"]
    challenge = EnrollmentChallenge(
        home=d["home"],
        device=d["device"],
        device_key=bytes.fromhex(d["public"]),
        nonce=bytes.fromhex(e["nonce"]),
    )
    new = PublicKey.from_hex(e["new_key"])
    assert (
        enrollment_transcript(challenge, new_key=new, role=Role(e["role"]), member=e["member"]).hex()
        == e["approval_transcript"]
    )
    assert (
        presence_transcript(
            challenge, new_key=new, role=Role(e["role"]), member=e["member"], code=e["code"]
        ).hex()
        == e["presence_transcript"]
    )
    assert KeyPair.from_scalar(int(e["new_private_scalar"], 16)).public == new
