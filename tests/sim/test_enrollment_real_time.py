"""An enrollment code's two minutes are real minutes, however fast the demo's world runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.clock import ScaledClock, real_time
from carhome.signing import EnrollmentRejected, KeyPair, Role, request_enrollment
from carhome.signing.enrollment import CHALLENGE_TTL, EnrollmentChallenge
from carhome.signing.pending import PendingAsk, PendingEnrollments
from carhome.sim import Outdoor, SimCar
from carhome.sim.routes import YIZHUANG_HOME
from carhome.testing import FakeClock

SPEED = 20.0


def test_a_simulated_car_keeps_its_code_two_real_minutes(tmp_path: Path) -> None:
    real = FakeClock()
    demo = ScaledClock(SPEED, real=real)
    car = SimCar(Outdoor(fixed_temperature=10.0), lat=YIZHUANG_HOME[0], lon=YIZHUANG_HOME[1])
    keys = car.secure(tmp_path / "car", home="h1", device="car", clock=demo)
    challenge = keys.begin()
    code = car.screen  # read off the car's own display
    left = CHALLENGE_TTL - 1  # 39 simulated minutes at speed 20
    real.set(real.time() + left)
    print(f"code still good after {left:.0f} real s = {left * SPEED:.0f} simulated s")
    owner = KeyPair.generate()
    key = keys.enroll(request_enrollment(owner, challenge, role=Role.OWNER, member="ana", code=code))
    assert key.member == "ana"

    challenge = keys.begin()
    code = car.screen
    real.set(real.time() + CHALLENGE_TTL)
    late = KeyPair.generate()
    with pytest.raises(EnrollmentRejected) as rejected:
        keys.enroll(request_enrollment(late, challenge, role=Role.FAMILY, member="bo", code=code))
    assert rejected.value.reason == "challenge_expired"


def test_a_pending_request_waits_two_real_minutes() -> None:
    real = FakeClock()
    demo = ScaledClock(SPEED, real=real)
    assert real_time(demo) is real
    assert real_time(real) is real
    pending = PendingEnrollments(real_time(demo))
    car = KeyPair.generate()
    new = KeyPair.generate()
    challenge = EnrollmentChallenge(home="h1", device="car", device_key=car.public.point, nonce=bytes(16))
    ask = request_enrollment(new, challenge, role=Role.FAMILY, member="bo", code="123456")
    view = pending.add("h1", "car", PendingAsk.of(ask, device_key=car.public.point), asked_by="bo")
    real.set(real.time() + CHALLENGE_TTL - 1)
    still = pending.get("h1", "car", view.id)
    assert still is not None
    assert still.status == "pending"
    real.set(real.time() + 1)
    over = pending.get("h1", "car", view.id)
    assert over is not None
    assert over.status == "expired"
