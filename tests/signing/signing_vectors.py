"""Builds docs/signing-vectors.json from fixed keys and inputs.

``python tests/signing/signing_vectors.py`` rewrites the file; ``test_vectors.py`` checks the
implementation against the file as published, recomputing HMACs and ECDH independently.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from carhome.signing import (
    CommandFields,
    Envelope,
    KeyPair,
    Role,
    SessionInfo,
    SessionRequest,
)
from carhome.signing.enrollment import EnrollmentChallenge, enrollment_transcript, presence_transcript
from carhome.signing.envelope import VERSION, command_transcript
from carhome.signing.session import mac, phone_session_keys, session_context

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "signing-vectors.json"

PHONE_SCALAR = 0x1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A7988
DEVICE_SCALAR = 0x7A6B5C4D3E2F10017A6B5C4D3E2F10017A6B5C4D3E2F10017A6B5C4D3E2F1001
NEW_SCALAR = 0x0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
HOME, DEVICE = "h1", "car"
EPOCH = bytes.fromhex("00112233445566778899aabbccddeeff")
NONCE = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
CLOCK = 120

COMMANDS: list[dict[str, Any]] = [
    {
        "fields": {
            "id": "0f8e2c7a4b6d4e1f9a3b5c7d9e1f2a3b",
            "home": HOME,
            "device": DEVICE,
            "kind": "action",
            "target": "unlock",
            "args": {},
            "member": "ana",
            "expires": 1767225630.0,
        },
        "domain": "car_doors",
        "counter": 1,
        "expires_at": 150,
    },
    {
        "fields": {
            "id": "5b1d9f3e7a2c4b6d8e0f1a3c5e7b9d2f",
            "home": HOME,
            "device": DEVICE,
            "kind": "action",
            "target": "start_charging",
            "args": {},
            "member": "ana",
            "expires": 1767225645.5,
        },
        "domain": "charging",
        "counter": 2,
        "expires_at": 165,
    },
    {
        "fields": {
            "id": "c3e5a7b9d1f24680ace13579bdf02468",
            "home": HOME,
            "device": DEVICE,
            "kind": "action",
            "target": "climate_on",
            "args": {"temperature": 21.5},
            "member": "ana",
            "expires": 1767225660.0,
        },
        "domain": "",
        "counter": 7,
        "expires_at": 180,
    },
]


def build() -> dict[str, Any]:
    phone, device = KeyPair.from_scalar(PHONE_SCALAR), KeyPair.from_scalar(DEVICE_SCALAR)
    keys = phone_session_keys(phone, device.public, home=HOME, device=DEVICE, epoch=EPOCH)
    request = SessionRequest(phone_key=phone.public.point, nonce=NONCE)
    info = SessionInfo(
        home=HOME,
        device=DEVICE,
        device_key=device.public.point,
        epoch=EPOCH,
        clock=CLOCK,
        counter=0,
        tag=b"",
    ).tagged(keys, request)
    commands = []
    for case in COMMANDS:
        fields = CommandFields(**case["fields"])
        data = command_transcript(
            fields,
            domain=case["domain"],
            home=HOME,
            device=DEVICE,
            epoch=EPOCH,
            expires_at=case["expires_at"],
            counter=case["counter"],
        )
        tag = mac(keys.command, data)
        envelope = Envelope(
            v=VERSION,
            key_id=phone.public.key_id,
            epoch=EPOCH,
            counter=case["counter"],
            expires_at=case["expires_at"],
            domain=case["domain"],
            tag=tag,
        )
        commands.append({**case, "transcript": data.hex(), "tag": tag.hex(), "signature": envelope.encode()})
    new = KeyPair.from_scalar(NEW_SCALAR)
    challenge = EnrollmentChallenge(home=HOME, device=DEVICE, device_key=device.public.point, nonce=NONCE)
    return {
        "about": "carhome signed-command test vectors (docs/signing.md). All bytes in hex. "
        "Private scalars are for testing only.",
        "phone": {
            "private_scalar": f"{PHONE_SCALAR:064x}",
            "public": phone.public.point.hex(),
            "key_id": phone.public.key_id.hex(),
        },
        "device": {
            "private_scalar": f"{DEVICE_SCALAR:064x}",
            "public": device.public.point.hex(),
            "home": HOME,
            "device": DEVICE,
            "epoch": EPOCH.hex(),
        },
        "session": {
            "ecdh_secret": phone.exchange(device.public).hex(),
            "hkdf_info": session_context(
                home=HOME, device=DEVICE, epoch=EPOCH, phone=phone.public, device_key=device.public
            ).hex(),
            "command_key": keys.command.hex(),
            "info_key": keys.info.hex(),
        },
        "session_info": {
            "request": {"phone_key": phone.public.point.hex(), "nonce": NONCE.hex()},
            "clock": CLOCK,
            "counter": 0,
            "transcript": info.transcript(request).hex(),
            "tag": info.tag.hex(),
        },
        "commands": commands,
        "enrollment": {
            "nonce": NONCE.hex(),
            "new_private_scalar": f"{NEW_SCALAR:064x}",
            "new_key": new.public.point.hex(),
            "role": Role.FAMILY.value,
            "member": "bo",
            "code": "042917",
            "approval_transcript": enrollment_transcript(
                challenge, new_key=new.public, role=Role.FAMILY, member="bo"
            ).hex(),
            "presence_transcript": presence_transcript(
                challenge, new_key=new.public, role=Role.FAMILY, member="bo", code="042917"
            ).hex(),
        },
    }


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build(), indent=2) + "\n")
    sys.stdout.write(f"wrote {VECTORS}\n")
