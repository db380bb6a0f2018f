"""The signature string and transcripts: canonical, injective, and safe on any input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carhome.signing import Envelope
from carhome.signing.envelope import MalformedSignature
from carhome.signing.transcript import Layout, Tag, TranscriptTooLong, transcript

GOOD = Envelope(
    v=1, key_id=b"k" * 16, epoch=b"e" * 16, counter=7, expires_at=99, domain="charging", tag=b"t" * 32
)


def test_round_trip() -> None:
    assert Envelope.decode(GOOD.encode()) == GOOD


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"key_id": b"k"},
        {"epoch": b""},
        {"counter": 0},
        {"counter": 2**32},
        {"expires_at": -1},
        {"tag": b"t" * 31},
    ],
)
def test_envelope_is_checked_when_made(change: dict[str, object]) -> None:
    fields = {f: getattr(GOOD, f) for f in GOOD.__struct_fields__} | change
    with pytest.raises(ValueError):
        Envelope(**fields)  # type: ignore[arg-type]


def test_non_canonical_spellings_are_refused() -> None:
    text = GOOD.encode()
    with pytest.raises(MalformedSignature):
        Envelope.decode(text + "=")
    with pytest.raises(MalformedSignature):
        Envelope.decode(text[:5] + "/" + text[6:])
    with pytest.raises(MalformedSignature):
        Envelope.decode("A" * 600)
    # the same bytes, spelled with other unused low bits in the last base64 character
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spellings = [text[:-1] + c for c in alphabet if c != text[-1]]
    same = [v for v in spellings if base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) == raw]
    assert same  # 83 bytes leave 2 unused bits in the last character
    for variant in same:
        with pytest.raises(MalformedSignature):
            Envelope.decode(variant)


@given(st.text(max_size=300))
def test_any_string_is_an_envelope_or_malformed(text: str) -> None:
    try:
        envelope = Envelope.decode(text)
    except MalformedSignature:
        return
    assert envelope.encode() == text


@given(st.binary(max_size=200))
def test_any_bytes_in_base64_are_an_envelope_or_malformed(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    try:
        envelope = Envelope.decode(text)
    except MalformedSignature:
        return
    assert envelope.encode() == text


values = st.one_of(st.binary(max_size=8), st.text(max_size=8))


@given(st.lists(values, min_size=3, max_size=3), st.lists(values, min_size=3, max_size=3))
def test_transcripts_are_injective(a: list[bytes | str], b: list[bytes | str]) -> None:
    def raw(v: bytes | str) -> bytes:
        return v.encode() if isinstance(v, str) else v

    tags = (Tag.HOME, Tag.DEVICE, Tag.NONCE)
    ta = transcript("s", *zip(tags, a, strict=True))
    tb = transcript("s", *zip(tags, b, strict=True))
    assert (ta == tb) == ([raw(v) for v in a] == [raw(v) for v in b])


def test_transcript_rules() -> None:
    with pytest.raises(ValueError, match="ascend"):
        Layout("s", (Tag.DEVICE, Tag.HOME))
    with pytest.raises(ValueError, match="ascend"):
        Layout("s", (Tag.SCHEME,))
    with pytest.raises(TranscriptTooLong):
        transcript("s", (Tag.ARGS, b"x" * 70_000))
    with pytest.raises(ValueError, match="fields"):
        Layout("s", (Tag.HOME,)).encode()
    assert transcript("ab", (Tag.HOME, "h")) == b"\x01\x00\x02ab\x03\x00\x01h\xff"
