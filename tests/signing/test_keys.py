"""Key pairs, PEM files, public keys and the device's key store."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from carhome.signing import EnrolledKey, InvalidKey, KeyPair, KeyStore, PublicKey, Role


def test_pem_file_round_trip_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    key = KeyPair.generate()
    path = tmp_path / "phone.pem"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyPair.load(path).public == key.public
    with pytest.raises(InvalidKey, match="never overwritten"):
        KeyPair.generate().save(path)
    assert KeyPair.load(path).public == key.public


def test_pem_with_passphrase(tmp_path: Path) -> None:
    key = KeyPair.generate()
    path = tmp_path / "phone.pem"
    key.save(path, passphrase=b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert KeyPair.load(path, b"correct horse").public == key.public
    with pytest.raises(InvalidKey):
        KeyPair.load(path, b"wrong")
    with pytest.raises(InvalidKey):
        KeyPair.load(path)


def test_unreadable_or_foreign_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey, match="cannot read"):
        KeyPair.load(tmp_path / "missing.pem")
    with pytest.raises(InvalidKey):
        KeyPair.from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    other = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey, match="not an elliptic-curve"):
        KeyPair.from_pem(other)
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(InvalidKey, match="P-256"):
        KeyPair(p384)


def test_public_key_must_be_a_point_on_the_curve() -> None:
    point = KeyPair.generate().public.point
    assert PublicKey(point).key_id == PublicKey.from_hex(point.hex()).key_id
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    with pytest.raises(InvalidKey, match="not a point"):
        PublicKey(off_curve)
    with pytest.raises(InvalidKey):
        PublicKey(point[:33])
    with pytest.raises(InvalidKey):
        PublicKey.from_hex("zz")


def test_sign_and_verify() -> None:
    key = KeyPair.generate()
    sig = key.sign(b"data")
    assert key.public.verify(sig, b"data")
    assert not key.public.verify(sig, b"date")
    assert not KeyPair.generate().public.verify(sig, b"data")
    assert not key.public.verify(b"\x00garbage", b"data")


def test_ecdh_is_symmetric() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    assert a.exchange(b.public) == b.exchange(a.public)


def test_key_store_disable_enable_and_snapshot() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    store = KeyStore((EnrolledKey(point=a.public.point, role=Role.OWNER, member="ana"),))
    store.add(EnrolledKey(point=b.public.point, role=Role.GUEST, member="bo"))
    with pytest.raises(InvalidKey, match="already"):
        store.add(EnrolledKey(point=b.public.point, role=Role.OWNER, member="bo"))
    store.disable(b.public.key_id)
    entry = store.get(b.public.key_id)
    assert entry is not None
    assert not entry.enabled
    restored = KeyStore.restore(store.snapshot())
    assert [k.member for k in restored] == ["ana", "bo"]
    again = restored.get(b.public.key_id)
    assert again is not None
    assert not again.enabled
    restored.enable(b.public.key_id)
    assert (restored.get(b.public.key_id) or entry).enabled
    with pytest.raises(InvalidKey):
        store.disable(b"\x00" * 16)
    with pytest.raises(InvalidKey, match="damaged"):
        KeyStore.restore(b"\x92\x01")


def test_enrolled_key_is_checked_when_made() -> None:
    with pytest.raises(InvalidKey):
        EnrolledKey(point=b"\x04" + b"\x00" * 64, role=Role.OWNER, member="ana")
    with pytest.raises(InvalidKey, match="member"):
        EnrolledKey(point=KeyPair.generate().public.point, role=Role.OWNER, member="")
