"""The handshake: a phone opens a session only with the device it pinned, in its epoch."""

from __future__ import annotations

import msgspec
import pytest
from signing_rig import T0, Device, fields, open_session, signed, verify

from carhome.signing import (
    KeyPair,
    PhoneSession,
    Reason,
    SessionRefused,
    SessionRequest,
    SignatureRejected,
    session_request,
)
from carhome.spec.devices import CAR_DOORS


def test_session_info_reports_the_epoch_clock_and_last_counter(car: Device) -> None:
    ana = KeyPair.generate()
    car.enroll(ana)
    car.clock.set(T0 + 42.7)
    session = open_session(ana, car, now=500.0)
    assert session.epoch == car.verifier.epoch
    for i in range(3):
        assert verify(car.verifier, signed(session, fields("car", "lock", i), CAR_DOORS, now=500.0)).accepted
    again = open_session(ana, car)
    assert again.counter == 3  # the new session continues above what the device has seen
    assert verify(car.verifier, signed(again, fields("car", "lock", 9), CAR_DOORS)).accepted


def test_phone_refuses_an_answer_from_another_key_or_altered(car: Device) -> None:
    ana = KeyPair.generate()
    car.enroll(ana)
    request = session_request(ana)
    info = car.verifier.session_info(request)
    impostor = KeyPair.generate()
    with pytest.raises(SessionRefused) as refused:
        PhoneSession(key=ana, device_key=impostor.public, request=request, info=info, now=0)
    assert refused.value.reason == "wrong_device_key"
    for change in (
        {"clock": info.clock + 3_600},
        {"counter": 0 if info.counter else 5},
        {"epoch": bytes(16)},
        {"home": "h9"},
    ):
        altered = msgspec.structs.replace(info, **change)  # type: ignore[arg-type]
        with pytest.raises(SessionRefused) as refused:
            PhoneSession(key=ana, device_key=car.key.public, request=request, info=altered, now=0)
        assert refused.value.reason == "bad_session_tag"
    # an old answer replayed to a new request
    with pytest.raises(SessionRefused):
        PhoneSession(key=ana, device_key=car.key.public, request=session_request(ana), info=info, now=0)
    with pytest.raises(SessionRefused, match="another key"):
        PhoneSession(key=KeyPair.generate(), device_key=car.key.public, request=request, info=info, now=0)


def test_device_refuses_sessions_for_unknown_and_disabled_keys(car: Device) -> None:
    bo = KeyPair.generate()
    with pytest.raises(SignatureRejected) as rejected:
        car.verifier.session_info(session_request(bo))
    assert rejected.value.code is Reason.UNKNOWN_KEY
    car.enroll(bo)
    car.keys.disable(bo.public.key_id)
    with pytest.raises(SignatureRejected) as rejected:
        car.verifier.session_info(session_request(bo))
    assert rejected.value.code is Reason.DISABLED_KEY
    assert "enable" in str(rejected.value)


def test_request_is_checked_when_made() -> None:
    with pytest.raises(ValueError):
        SessionRequest(phone_key=KeyPair.generate().public.point, nonce=b"short")
    with pytest.raises(ValueError):
        SessionRequest(phone_key=b"\x04" * 65, nonce=b"n" * 16)


def test_phone_signs_only_for_its_device_and_within_its_ttl(car: Device) -> None:
    ana = KeyPair.generate()
    car.enroll(ana)
    session = open_session(ana, car)
    with pytest.raises(SessionRefused) as refused:
        session.sign(fields("other", "lock", 1), domain=CAR_DOORS, now=T0, ttl=30)
    assert refused.value.reason == "wrong_device"
    for ttl in (0, -1, 301):
        with pytest.raises(SessionRefused) as refused:
            session.sign(fields("car", "lock", 1), domain=CAR_DOORS, now=T0, ttl=ttl)
        assert refused.value.reason == "bad_ttl"
    assert session.counter == 0  # nothing was signed
