"""The RELIABILITY.md figures of the signing protocol, printed and asserted.

Run with ``pytest -s tests/signing/test_figures.py`` to see the figure lines.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from signing_rig import (
    T0,
    Device,
    Received,
    fields,
    forge_session,
    open_session,
    raw_envelope,
    signed,
    verify,
)

from carhome.signing import Envelope, KeyPair, PhoneSession, Reason, Role
from carhome.spec.devices import CAR, CAR_DOORS, CHARGING, DOOR_LOCK, GARAGE, GARAGE_DOOR, HOME_LOCK, WALLBOX

N = 10_000
CAR_CRITICAL = (
    ("lock", CAR_DOORS),
    ("unlock", CAR_DOORS),
    ("open_trunk", CAR_DOORS),
    ("close_trunk", CAR_DOORS),
    ("start_charging", CHARGING),
)
CAR_ORDINARY = (("set_charge_limit", {"limit": 80}), ("climate_on", {"temperature": 21.5}))


def car_fields(i: int, rng: random.Random) -> tuple[Any, str | None]:
    """The i-th command for the car: mostly safety-critical, a fifth ordinary with args."""
    if i % 5 == 4:
        target, args = CAR_ORDINARY[rng.randrange(2)]
        return fields("car", target, i, args=dict(args)), None
    target, domain = CAR_CRITICAL[rng.randrange(4)]
    return fields("car", target, i), domain


# -- bit flips ------------------------------------------------------------------------------


def flip_text(text: str, rng: random.Random) -> str:
    if not text:
        return "x"
    at = rng.randrange(len(text))
    return text[:at] + chr(ord(text[at]) ^ 1 << rng.randrange(7)) + text[at + 1 :]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    at = rng.randrange(len(out))
    out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def flip_float(value: float, rng: random.Random) -> float:
    bits = int.from_bytes(msgspec.msgpack.encode(value)[1:], "big") ^ 1 << rng.randrange(64)
    return float(msgspec.msgpack.decode(b"\xcb" + bits.to_bytes(8, "big")))


def flip_args(args: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    if not args:
        return {"force": True}
    name, value = next(iter(args.items()))
    if isinstance(value, float):
        return {**args, name: flip_float(value, rng)}
    return {**args, name: value ^ 1 << rng.randrange(6)}


COMMAND_FIELDS = ("id", "home", "device", "kind", "target", "args", "member", "expires")
ENVELOPE_FIELDS = ("v", "key_id", "epoch", "counter", "expires_at", "domain", "tag")


def tampered(good: Received, rng: random.Random) -> list[tuple[str, Received]]:
    """``good`` with one bit flipped in each field of the command and of its signature,
    and one bit flipped in the signature string itself."""
    out: list[tuple[str, Received]] = []
    for name in COMMAND_FIELDS:
        value = getattr(good, name)
        if name == "args":
            new: Any = flip_args(value, rng)
        elif name == "expires":
            new = flip_float(value, rng)
        else:
            new = flip_text(value, rng)
        out.append((name, msgspec.structs.replace(good, **{name: new})))
    assert good.signature is not None
    envelope = Envelope.decode(good.signature)
    for index, name in enumerate(ENVELOPE_FIELDS):
        items: list[Any] = list(msgspec.structs.astuple(envelope))
        value = items[index]
        if isinstance(value, bytes):
            items[index] = flip_bytes(value, rng)
        elif isinstance(value, str):
            items[index] = flip_text(value, rng)
        else:
            items[index] = value ^ 1 << rng.randrange(7 if name == "v" else 32)
        out.append((f"signature.{name}", msgspec.structs.replace(good, signature=raw_envelope(items))))
    text = good.signature
    out.append(("signature string", msgspec.structs.replace(good, signature=flip_text(text, rng))))
    return out


def test_forged_accepted_zero_of_n() -> None:
    rng = random.Random(5)
    car = Device("car", CAR)
    ana, bo, eve = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    car.enroll(ana, Role.OWNER, "ana")
    car.enroll(bo, Role.FAMILY, "bo")
    session = open_session(ana, car)
    reasons: Counter[str] = Counter()
    forged = accepted_forged = controls = 0
    fields_flipped: Counter[str] = Counter()

    for i in range(N):
        f, domain = car_fields(i, rng)
        good = signed(session, f, domain)
        for name, bad in tampered(good, rng):
            verdict = verify(car.verifier, bad)
            forged += 1
            fields_flipped[name] += 1
            accepted_forged += verdict.accepted
            reasons[verdict.reason] += 1
        controls += verify(car.verifier, good).accepted

    # a key the car never enrolled: a session the attacker derives alone
    eve_session = forge_session(eve, car)
    # the same, claiming ana's key id
    ana_id = ana.public.key_id
    # a disabled key: bo's commands signed while enabled, delivered after disabling
    bo_session = open_session(bo, car)
    bo_commands = []
    for i in range(1_000):
        f, domain = car_fields(N + i, rng)
        bo_commands.append(signed(bo_session, msgspec.structs.replace(f, member="bo"), domain))
    car.keys.disable(bo.public.key_id)
    for i in range(1_000):
        f, domain = car_fields(2 * N + i, rng)
        eve_cmd = signed(eve_session, f, domain)
        items = list(msgspec.structs.astuple(Envelope.decode(eve_cmd.signature or "")))
        items[1] = ana_id
        claimed = msgspec.structs.replace(eve_cmd, signature=raw_envelope(items))
        for bad in (eve_cmd, claimed, bo_commands[i]):
            verdict = verify(car.verifier, bad)
            forged += 1
            accepted_forged += verdict.accepted
            reasons[verdict.reason] += 1
    # control: bo's commands were valid apart from the disabled key
    car.keys.enable(bo.public.key_id)
    bo_controls = sum(verify(car.verifier, c).accepted for c in bo_commands)

    print(
        f"\nforged accepted: {accepted_forged} of {forged}"
        f"  ({N} valid commands x {len(COMMAND_FIELDS) + len(ENVELOPE_FIELDS) + 1} fields flipped,"
        f" 1,000 unknown-key, 1,000 impersonating, 1,000 disabled-key)"
    )
    print("  refusals by reason: " + ", ".join(f"{r}={n}" for r, n in reasons.most_common()))
    assert accepted_forged == 0
    assert controls == N
    assert bo_controls == 1_000
    assert set(fields_flipped) == {
        *COMMAND_FIELDS,
        *(f"signature.{n}" for n in ENVELOPE_FIELDS),
        "signature string",
    }
    assert reasons[Reason.UNKNOWN_KEY] >= 1_000
    assert reasons[Reason.DISABLED_KEY] == 1_000


# -- replay ---------------------------------------------------------------------------------


def test_replayed_accepted_zero() -> None:
    rng = random.Random(7)
    car = Device("car", CAR)
    ana = KeyPair.generate()
    car.enroll(ana)
    session = open_session(ana, car)
    attempts = replayed = 0
    reasons: Counter[str] = Counter()

    def replay(cmd: Received) -> None:
        nonlocal attempts, replayed
        verdict = verify(car.verifier, cmd)
        attempts += 1
        replayed += verdict.accepted
        reasons[verdict.reason] += 1

    def fresh(i: int) -> Received:
        f, domain = car_fields(i, rng)
        return signed(session, f, domain)

    # 1. immediately: each command delivered 1-5 times
    batch = [fresh(i) for i in range(1_000)]
    for cmd in batch:
        assert verify(car.verifier, cmd).accepted
        for _ in range(rng.randrange(1, 5)):
            replay(cmd)

    # 2. beyond the window: 40 later commands run, then the last 40 of the batch again;
    #    and 40 commands held back by the relay arrive after those 40 (never executed)
    held = [fresh(1_000 + i) for i in range(40)]
    for cmd in [fresh(1_040 + i) for i in range(40)]:
        assert verify(car.verifier, cmd).accepted
    for cmd in batch[-40:]:
        replay(cmd)
    delayed_executed = sum(verify(car.verifier, c).accepted for c in held)

    # 3. after a restart of the verifier (same epoch; counters from the store)
    before = [fresh(2_000 + i) for i in range(500)]
    for cmd in before:
        assert verify(car.verifier, cmd).accepted
    car.start(boot=False)
    for cmd in before:
        replay(cmd)
    assert verify(car.verifier, fresh(2_500)).accepted  # the session still works

    # 4. after an epoch change (reboot)
    for cmd in before:
        replay(cmd)
    car.verifier.reboot()
    for cmd in [*batch[-100:], *before]:
        replay(cmd)
    session = open_session(ana, car)
    assert verify(car.verifier, fresh(3_000)).accepted  # a new session works

    print(
        f"\nreplayed accepted: {replayed}  (of {attempts} replays: immediate, beyond the "
        "window, after a verifier restart, after an epoch change)"
    )
    print("  refusals by reason: " + ", ".join(f"{r}={n}" for r, n in reasons.most_common()))
    assert replayed == 0
    assert reasons[Reason.REPLAYED] > 0
    assert reasons[Reason.OUT_OF_WINDOW] > 0
    assert reasons[Reason.FOREIGN_EPOCH] > 0
    assert delayed_executed == 0  # held back past the window: refused, sign again


def test_window_accepts_reordering_within_32_and_locks_need_strict_order() -> None:
    car = Device("car", CAR)
    lock = Device("front-door", DOOR_LOCK, seed=2)
    ana = KeyPair.generate()
    car.enroll(ana)
    lock.enroll(ana)
    car_session, lock_session = open_session(ana, car), open_session(ana, lock)
    car_cmds = [signed(car_session, fields("car", "unlock", i), CAR_DOORS) for i in range(33)]
    lock_cmds = [signed(lock_session, fields("front-door", "unlock", i), HOME_LOCK) for i in range(3)]
    # the car takes any order inside the window, once each
    assert all(verify(car.verifier, c).accepted for c in reversed(car_cmds[1:]))
    assert verify(car.verifier, car_cmds[0]).reason is Reason.OUT_OF_WINDOW
    # the lock takes counters in order only
    assert verify(lock.verifier, lock_cmds[1]).accepted
    assert verify(lock.verifier, lock_cmds[0]).reason is Reason.OUT_OF_ORDER
    assert verify(lock.verifier, lock_cmds[1]).reason is Reason.REPLAYED
    assert verify(lock.verifier, lock_cmds[2]).accepted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 59), min_size=1, max_size=150), st.booleans(), st.booleans())
def test_any_delivery_order_runs_each_command_at_most_once(
    order: list[int], restart: bool, strict: bool
) -> None:
    spec, target, domain, name = (
        (DOOR_LOCK, "unlock", HOME_LOCK, "front-door") if strict else (CAR, "unlock", CAR_DOORS, "car")
    )
    device = Device(name, spec)
    ana = KeyPair.generate()
    device.enroll(ana)
    session = open_session(ana, device)
    cmds = [signed(session, fields(name, target, i), domain) for i in range(60)]
    runs: Counter[str] = Counter()
    highest = 0
    for step, index in enumerate(order):
        if restart and step == len(order) // 2:
            device.start(boot=False)
        verdict = verify(device.verifier, cmds[index])
        if verdict.accepted:
            runs[cmds[index].id] += 1
            assert verdict.counter is not None
            if strict:
                assert verdict.counter > highest
            highest = max(highest, verdict.counter)
    assert all(n == 1 for n in runs.values())
    assert runs  # the first delivery always runs


# -- late -----------------------------------------------------------------------------------


def test_late_executions_zero() -> None:
    """A device with a wall clock looks at it once a second (``tick``); its clock is
    stepped by up to an hour either way while commands are in flight."""
    rng = random.Random(11)
    executed = late = in_ttl_refused = in_ttl = 0
    reasons: Counter[str] = Counter()
    for trial in range(2_000):
        car = Device("car", CAR, seed=trial)
        ana = KeyPair.generate()
        car.enroll(ana)
        opened_at = T0 + rng.uniform(0, 50)
        car.clock.set(opened_at)
        session = open_session(ana, car, now=opened_at, max_ttl=3_600)
        signed_at = opened_at + rng.uniform(0, 100)
        ttl = rng.choice((rng.uniform(1, 300), rng.uniform(301, 3_600)))
        f, domain = car_fields(trial, rng)
        cmd = signed(session, f, domain, now=signed_at, ttl=ttl)
        # the relay delays it; the device's wall clock may be stepped meanwhile
        delay = rng.choice((rng.uniform(0, ttl), rng.uniform(ttl, ttl + 4_000)))
        step = rng.choice((0.0, 3_600.0, -3_600.0, 600.0, -600.0, 60.0, -60.0, 5.0, -5.0))
        arrive = signed_at + delay
        step_at = rng.uniform(signed_at, arrive)
        car.clock.set(step_at - rng.uniform(0, 1))  # the last tick before the step
        car.verifier.tick()
        car.clock.set(min(arrive, step_at + rng.uniform(0, 1)) + step)  # the first after it
        car.verifier.tick()
        car.clock.set(arrive + step)
        verdict = verify(car.verifier, cmd)
        reasons[verdict.reason] += 1
        executed += verdict.accepted
        late += verdict.accepted and arrive > signed_at + ttl
        if step == 0.0 and ttl <= 300 and delay < ttl - 1:
            in_ttl += 1
            in_ttl_refused += not verdict.accepted
    print(
        f"\nlate executions: {late}  (of {executed} executed; 2,000 commands, TTL 1 s to 1 h "
        "against a 300 s maximum, delays up to TTL + 4,000 s, device clock stepped by 0, "
        "+-5 s, +-1 min, +-10 min or +-1 h)"
    )
    print(f"  in-TTL commands with a steady clock executed: {in_ttl - in_ttl_refused} of {in_ttl}")
    print("  verdicts: " + ", ".join(f"{r}={n}" for r, n in reasons.most_common()))
    assert late == 0
    assert in_ttl_refused == 0
    assert in_ttl > 30
    assert reasons[Reason.EXPIRED] > 0
    assert reasons[Reason.TTL_TOO_LONG] > 0
    assert reasons[Reason.FOREIGN_EPOCH] > 0  # the backward steps ended the epoch


def test_clock_steps_one_hour_each_way() -> None:
    car = Device("car", CAR)
    ana = KeyPair.generate()
    car.enroll(ana)
    session = open_session(ana, car)
    pending = [signed(session, fields("car", "unlock", i), CAR_DOORS, ttl=30) for i in range(3)]
    # stepped forward an hour: everything in flight is expired, not stretched
    car.clock.set(T0 + 3_600)
    assert verify(car.verifier, pending[0]).reason is Reason.EXPIRED
    # stepped back an hour (to 10 s after signing): the verifier notices and starts a new epoch
    car.clock.set(T0 + 10)
    assert verify(car.verifier, pending[1]).reason is Reason.FOREIGN_EPOCH
    # a new session works at the new time
    session = open_session(ana, car, now=T0 + 10)
    assert verify(car.verifier, signed(session, fields("car", "unlock", 9), CAR_DOORS, now=T0 + 10)).accepted


# -- cross-bound ----------------------------------------------------------------------------


def test_cross_bound_accepted_zero() -> None:
    devices = {
        "car-a": (Device("car-a", CAR, seed=1), ("lock", "unlock", "open_trunk", "start_charging")),
        "car-b": (Device("car-b", CAR, seed=2), ("lock", "unlock", "open_trunk", "start_charging")),
        "front-door": (Device("front-door", DOOR_LOCK, seed=3), ("lock", "unlock")),
        "garage": (Device("garage", GARAGE_DOOR, seed=4), ("open", "close")),
        "wallbox": (Device("wallbox", WALLBOX, seed=5), ("start_charging",)),
        "other-home-car": (Device("car-a", CAR, seed=6, home="h2"), ("unlock",)),
    }
    ana = KeyPair.generate()
    sessions: dict[str, PhoneSession] = {}
    for name, (device, _) in devices.items():
        device.enroll(ana)
        sessions[name] = open_session(ana, device)
    attempts = crossed = controls = n = 0
    reasons: Counter[str] = Counter()
    all_domains = (CAR_DOORS, HOME_LOCK, GARAGE, CHARGING)
    for _ in range(20):
        for source, (src_device, targets) in devices.items():
            for target in targets:
                n += 1
                f = fields(src_device.id, target, n, home=src_device.home)
                good_domain = src_device.spec.actions[target].domain
                good = signed(sessions[source], f, good_domain)
                forgeries: list[tuple[Device, Received]] = []
                for dest, (dst_device, _) in devices.items():
                    if dest == source:
                        continue
                    as_is = good
                    readdressed = msgspec.structs.replace(good, home=dst_device.home, device=dst_device.id)
                    forgeries += [(dst_device, as_is), (dst_device, readdressed)]
                # the same device, signed for one domain and retargeted to another's action
                for other_domain in all_domains:
                    if other_domain == good_domain:
                        continue
                    wrong = signed(sessions[source], f, other_domain)
                    forgeries.append((src_device, wrong))
                for other_target in src_device.spec.actions:
                    if other_target != target:
                        forgeries.append((src_device, msgspec.structs.replace(good, target=other_target)))
                for dst_device, bad in forgeries:
                    verdict = verify(dst_device.verifier, bad)
                    attempts += 1
                    crossed += verdict.accepted
                    reasons[verdict.reason] += 1
                controls += verify(src_device.verifier, good).accepted
    print(
        f"\ncross-bound accepted: {crossed} of {attempts}  (commands for two cars, a door lock, "
        "a garage, a wallbox and a car of another home, each sent to every other device, "
        "readdressed, signed under another domain, retargeted to another action)"
    )
    print("  refusals by reason: " + ", ".join(f"{r}={n}" for r, n in reasons.most_common()))
    assert crossed == 0
    assert controls == n
    assert reasons[Reason.WRONG_DEVICE] > 0
    assert reasons[Reason.WRONG_DOMAIN] > 0
    assert reasons[Reason.BAD_TAG] > 0


def test_door_lock_command_sent_to_a_car_is_refused() -> None:
    car, lock = Device("car", CAR, seed=1), Device("front-door", DOOR_LOCK, seed=2)
    ana = KeyPair.generate()
    car.enroll(ana)
    lock.enroll(ana)
    unlock_door = signed(open_session(ana, lock), fields("front-door", "unlock", 1), HOME_LOCK)
    assert verify(car.verifier, unlock_door).reason is Reason.WRONG_DEVICE
    readdressed = msgspec.structs.replace(unlock_door, device="car")
    assert verify(car.verifier, readdressed).reason is Reason.WRONG_DOMAIN
    # signed for the car but under the lock's domain
    confused = signed(open_session(ana, car), fields("car", "unlock", 2), HOME_LOCK)
    assert verify(car.verifier, confused).reason is Reason.WRONG_DOMAIN
    assert verify(lock.verifier, unlock_door).accepted
