"""The device-side verifier: one test per reason, and what it stores before it accepts."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from signing_rig import T0, Device, check, command, fields, open_session, signed, verify

from carhome.errors import CarhomeError, DeviceRefused
from carhome.signing import (
    DeviceVerifier,
    KeyPair,
    MemoryVerifierStore,
    PhoneSession,
    Reason,
    Role,
    SignatureRejected,
    VerifierState,
)
from carhome.spec.devices import CAR, CAR_DOORS, CHARGING


@pytest.fixture
def ana(car: Device) -> KeyPair:
    key = KeyPair.generate()
    car.enroll(key, Role.FAMILY, "ana")
    return key


@pytest.fixture
def session(car: Device, ana: KeyPair) -> PhoneSession:
    return open_session(ana, car)


def test_accepted_verdict_names_the_key_holder(car: Device, session: PhoneSession, ana: KeyPair) -> None:
    verdict = check(car.verifier, signed(session, fields("car", "unlock", 1), CAR_DOORS))
    assert verdict.accepted
    assert verdict.reason is Reason.ACCEPTED
    assert (verdict.key_id, verdict.role, verdict.member, verdict.counter) == (
        ana.public.key_id,
        Role.FAMILY,
        "ana",
        1,
    )


def test_unsigned_commands(car: Device) -> None:
    assert verify(car.verifier, command(fields("car", "unlock", 1), None)).reason is Reason.UNSIGNED
    ordinary = command(fields("car", "climate_off", 2), None)
    assert verify(car.verifier, ordinary).reason is Reason.NOT_REQUIRED
    assert verify(car.verifier, ordinary).accepted
    strict = DeviceVerifier(
        home="h1",
        device="car",
        spec=CAR,
        key=car.key,
        keys=car.keys,
        store=MemoryVerifierStore(),
        clock=car.clock,
        require_all=True,
    )
    assert verify(strict, ordinary).reason is Reason.UNSIGNED


def test_signed_ordinary_command_is_verified_too(car: Device, session: PhoneSession) -> None:
    f = fields("car", "set_charge_limit", 1, args={"limit": 80})
    good = signed(session, f, None)
    assert verify(car.verifier, msgspec.structs.replace(good, args={"limit": 100})).reason is Reason.BAD_TAG
    assert verify(car.verifier, good).accepted
    # claiming a safety-critical domain for an ordinary action does not pass either
    claimed = signed(session, fields("car", "climate_off", 2), CHARGING)
    assert verify(car.verifier, claimed).reason is Reason.WRONG_DOMAIN


def test_check_raises_a_structured_error(car: Device, session: PhoneSession) -> None:
    cmd = signed(session, fields("car", "unlock", 1), CAR_DOORS)
    check(car.verifier, cmd)
    with pytest.raises(SignatureRejected) as rejected:
        check(car.verifier, cmd)
    error = rejected.value
    assert isinstance(error, DeviceRefused)
    assert isinstance(error, CarhomeError)
    assert error.code is Reason.REPLAYED
    assert error.reason == "replayed"
    assert error.command == cmd.id
    assert "ran already" in str(error)


def test_expiry_and_ttl_are_on_the_device_epoch_clock(car: Device, session: PhoneSession) -> None:
    cmd = signed(session, fields("car", "unlock", 1), CAR_DOORS, ttl=30)
    car.clock.set(T0 + 30)
    assert verify(car.verifier, cmd).reason is Reason.EXPIRED
    lax = open_session(session.key, car, now=T0 + 30, max_ttl=3_600)
    too_long = signed(lax, fields("car", "unlock", 2), CAR_DOORS, now=T0 + 30, ttl=301)
    assert verify(car.verifier, too_long).reason is Reason.TTL_TOO_LONG
    ok = signed(lax, fields("car", "unlock", 3), CAR_DOORS, now=T0 + 30, ttl=300)
    assert verify(car.verifier, ok).accepted


def test_the_counter_is_durable_before_the_verdict(car: Device, session: PhoneSession) -> None:
    writes = car.store.writes
    cmd = signed(session, fields("car", "unlock", 1), CAR_DOORS)
    assert verify(car.verifier, cmd).accepted
    assert car.store.writes == writes + 1
    state = car.store.load()
    assert state is not None
    assert state.windows[session.key.public.key_id].highest == 1
    rejected_writes = car.store.writes
    verify(car.verifier, cmd)
    assert car.store.writes == rejected_writes  # a refusal writes nothing


class FailingStore(MemoryVerifierStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def save(self, state: VerifierState) -> None:
        if self.fail:
            raise OSError("flash worn out")
        super().save(state)


def test_a_store_that_cannot_write_means_no_acceptance() -> None:
    store = FailingStore()
    car = Device("car", CAR, store=store)
    ana = KeyPair.generate()
    car.enroll(ana)
    session = open_session(ana, car)
    cmd = signed(session, fields("car", "unlock", 1), CAR_DOORS)
    store.fail = True
    with pytest.raises(OSError, match="flash"):
        verify(car.verifier, cmd)
    store.fail = False
    car.start(boot=False)  # the device restarts from what was durable
    assert verify(car.verifier, cmd).accepted


def test_restart_continues_the_epoch_but_boot_does_not(car: Device, session: PhoneSession) -> None:
    epoch = car.verifier.epoch
    car.start(boot=False)
    assert car.verifier.epoch == epoch
    assert verify(car.verifier, signed(session, fields("car", "unlock", 1), CAR_DOORS)).accepted
    car.start(boot=True)
    assert car.verifier.epoch != epoch
    assert verify(car.verifier, signed(session, fields("car", "unlock", 2), CAR_DOORS)).reason is (
        Reason.FOREIGN_EPOCH
    )


def test_restart_after_the_clock_went_back_starts_a_new_epoch(car: Device) -> None:
    epoch = car.verifier.epoch
    car.clock.set(T0 - 10)
    car.start(boot=False)
    assert car.verifier.epoch != epoch


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"max_ttl": 0}, ValueError, "max_ttl"),
        ({"home": "H 1"}, CarhomeError, None),
        ({"entropy": lambda n: b"x"}, ValueError, "entropy"),
    ],
    ids=["max_ttl", "home", "entropy"],
)
def test_bad_configuration_is_refused(
    car: Device, change: dict[str, Any], error: type[Exception], match: str | None
) -> None:
    settings: dict[str, Any] = {
        "home": "h1",
        "device": "car",
        "spec": CAR,
        "key": car.key,
        "keys": car.keys,
        "store": MemoryVerifierStore(),
        "clock": car.clock,
    }
    with pytest.raises(error, match=match):
        DeviceVerifier(**(settings | change))


def test_oversized_or_unencodable_fields_are_malformed(car: Device, session: PhoneSession) -> None:
    good = signed(session, fields("car", "unlock", 1), CAR_DOORS)
    huge = msgspec.structs.replace(good, id="x" * 70_000)
    assert verify(car.verifier, huge).reason is Reason.MALFORMED
    surrogate = msgspec.structs.replace(good, member="\ud800")
    assert verify(car.verifier, surrogate).reason is Reason.MALFORMED
    assert verify(car.verifier, good).accepted
