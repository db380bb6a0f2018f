"""P-256 keys: a phone's or device's key pair, a public key, and a device's store of enrolled keys.

A member's phone holds one P-256 key pair (kept as a PKCS #8 PEM file); a device holds its
own. A public key travels as its 65-byte uncompressed SEC1 point and is named by its *key
id*: the first 16 bytes of SHA-256 over that point. A device's ``KeyStore`` lists the public
keys enrolled on it, each with a role, the member it belongs to and an enabled flag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from carhome.errors import CarhomeError
from carhome.files import create_atomically
from carhome.signing.roles import Role

CURVE: Final = ec.SECP256R1()
POINT_SIZE: Final = 65
KEY_ID_SIZE: Final = 16


class InvalidKey(CarhomeError, ValueError):
    """Bytes or a file that should hold a P-256 key do not (also a ValueError, for decoders)."""


class PublicKey:
    """A P-256 public key, checked to be a point on the curve when made."""

    __slots__ = ("_key", "key_id", "point")

    def __init__(self, point: bytes) -> None:
        if len(point) != POINT_SIZE or point[0] != 0x04:
            raise InvalidKey(f"a public key is a {POINT_SIZE}-byte uncompressed P-256 point")
        try:
            self._key = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, point)
        except ValueError as exc:
            raise InvalidKey("the bytes are not a point on P-256") from exc
        self.point: Final = bytes(point)
        self.key_id: Final = hashlib.sha256(self.point).digest()[:KEY_ID_SIZE]

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        try:
            return cls(bytes.fromhex(text))
        except ValueError as exc:
            raise InvalidKey(f"a public key in hex is {2 * POINT_SIZE} hex digits") from exc

    @property
    def crypto_key(self) -> ec.EllipticCurvePublicKey:
        return self._key

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True if ``signature`` (DER ECDSA, SHA-256) is this key's over ``data``."""
        try:
            self._key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.point == self.point

    def __hash__(self) -> int:
        return hash(self.point)

    def __repr__(self) -> str:
        return f"PublicKey(key_id={self.key_id.hex()})"


class KeyPair:
    """A P-256 private key with its public half: a phone's key or a device's key."""

    __slots__ = ("_private", "public")

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private.curve, ec.SECP256R1):
            raise InvalidKey(f"carhome keys are P-256, not {private.curve.name}")
        self._private = private
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public: Final = PublicKey(point)

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(ec.generate_private_key(CURVE))

    @classmethod
    def from_scalar(cls, scalar: int) -> KeyPair:
        """The key with this private scalar (for test vectors; never for real keys)."""
        try:
            return cls(ec.derive_private_key(scalar, CURVE))
        except ValueError as exc:
            raise InvalidKey("the scalar is not a valid P-256 private key") from exc

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> KeyPair:
        try:
            key = serialization.load_pem_private_key(data, passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKey(f"not a readable P-256 private key in PEM: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InvalidKey("the PEM holds a key that is not an elliptic-curve key")
        return cls(key)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def load(cls, path: Path, passphrase: bytes | None = None) -> KeyPair:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidKey(f"cannot read key file {path}: {exc.strerror}") from exc
        return cls.from_pem(data, passphrase)

    def save(self, path: Path, passphrase: bytes | None = None) -> None:
        """Write the key as PEM, readable by its owner only; never overwrite a key."""
        try:
            create_atomically(path, self.to_pem(passphrase))
        except FileExistsError as exc:
            raise InvalidKey(f"{path} exists; move it away first, a key is never overwritten") from exc

    def sign(self, data: bytes) -> bytes:
        """DER ECDSA signature over ``data`` with SHA-256."""
        return self._private.sign(data, ec.ECDSA(hashes.SHA256()))

    def exchange(self, peer: PublicKey) -> bytes:
        """The ECDH shared secret (the x coordinate, 32 bytes) with ``peer``."""
        return self._private.exchange(ec.ECDH(), peer.crypto_key)

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public!r})"


class EnrolledKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One public key enrolled on a device."""

    point: bytes
    role: Role
    member: str
    enabled: bool = True

    def __post_init__(self) -> None:
        PublicKey(self.point)  # raises InvalidKey if the point is not on the curve
        if not self.member:
            raise InvalidKey("an enrolled key names the member who holds it")

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.point)

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.point).digest()[:KEY_ID_SIZE]


class KeyStore:
    """The public keys enrolled on one device, by key id.

    Keys are added only through ``carhome.signing.enrollment`` (or ``add`` on a device with
    no key yet, in the factory); they are disabled, never silently dropped, so a log of who
    held which key stays readable.
    """

    def __init__(self, keys: tuple[EnrolledKey, ...] = ()) -> None:
        self._keys: dict[bytes, EnrolledKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: EnrolledKey) -> None:
        if key.key_id in self._keys:
            raise InvalidKey(f"key {key.key_id.hex()} is already enrolled")
        self._keys[key.key_id] = key

    def get(self, key_id: bytes) -> EnrolledKey | None:
        return self._keys.get(key_id)

    def disable(self, key_id: bytes) -> None:
        self._set_enabled(key_id, enabled=False)

    def enable(self, key_id: bytes) -> None:
        self._set_enabled(key_id, enabled=True)

    def _set_enabled(self, key_id: bytes, *, enabled: bool) -> None:
        key = self._keys.get(key_id)
        if key is None:
            raise InvalidKey(f"no key {key_id.hex()} is enrolled")
        self._keys[key_id] = msgspec.structs.replace(key, enabled=enabled)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[EnrolledKey]:
        return iter(tuple(self._keys.values()))

    def snapshot(self) -> bytes:
        """The store as bytes, for a device to keep in flash."""
        return msgspec.msgpack.encode(tuple(self._keys.values()))

    @classmethod
    def restore(cls, data: bytes) -> KeyStore:
        try:
            keys = msgspec.msgpack.decode(data, type=tuple[EnrolledKey, ...])
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidKey(f"the key store bytes are damaged: {exc}") from exc
        return cls(keys)
