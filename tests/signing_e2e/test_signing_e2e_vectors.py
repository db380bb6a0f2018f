"""The revocation and delegate vectors in docs/signing-revoke-vectors.json, checked.

``python tests/signing_e2e/test_signing_e2e_vectors.py`` rewrites the file (with a fresh,
randomised ECDSA signature); the test recomputes the transcript independently of the file
and checks the published signature against the published owner key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from carhome.signing.keeper import approve_revocation, delegate_member, revoke_transcript
from carhome.signing.keys import KeyPair, PublicKey

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "signing-revoke-vectors.json"
OWNER_SCALAR = 0x1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A7988
DEVICE_SCALAR = 0x7A6B5C4D3E2F10017A6B5C4D3E2F10017A6B5C4D3E2F10017A6B5C4D3E2F1001
REVOKED_SCALAR = 0x0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
HOME, DEVICE = "h1", "garage_door"


def build() -> dict[str, Any]:
    owner, device, revoked = (KeyPair.from_scalar(s) for s in (OWNER_SCALAR, DEVICE_SCALAR, REVOKED_SCALAR))
    transcript = revoke_transcript(home=HOME, device=DEVICE, device_key=device.public, revoked=revoked.public)
    signature = approve_revocation(
        owner, home=HOME, device=DEVICE, device_key=device.public, revoked=revoked.public
    )
    return {
        "about": "carhome revocation and delegate vectors; see docs/signing.md",
        "revocation": {
            "home": HOME,
            "device": DEVICE,
            "owner_scalar": f"{OWNER_SCALAR:064x}",
            "owner_key": owner.public.point.hex(),
            "owner_key_id": owner.public.key_id.hex(),
            "device_key": device.public.point.hex(),
            "revoked_key": revoked.public.point.hex(),
            "transcript": transcript.hex(),
            "signature_der": signature.hex(),
        },
        "delegate_members": {
            "garage": delegate_member(("garage",)),
            "charging+car_doors": delegate_member(("charging", "car_doors")),
        },
    }


def test_published_revocation_vector() -> None:
    published = json.loads(VECTORS.read_text())
    fresh = build()
    vector = published["revocation"]
    for name in ("owner_key", "owner_key_id", "device_key", "revoked_key", "transcript"):
        assert vector[name] == fresh["revocation"][name], name
    owner = PublicKey.from_hex(vector["owner_key"])
    assert owner.verify(bytes.fromhex(vector["signature_der"]), bytes.fromhex(vector["transcript"]))
    flipped = bytearray.fromhex(vector["transcript"])
    flipped[20] ^= 1
    assert not owner.verify(bytes.fromhex(vector["signature_der"]), bytes(flipped))
    assert published["delegate_members"] == fresh["delegate_members"]


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build(), indent=2) + "\n")
    sys.stdout.write(f"wrote {VECTORS}\n")
