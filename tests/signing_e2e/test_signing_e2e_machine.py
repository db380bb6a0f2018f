"""A Hypothesis state machine over the whole device path: nothing unauthorized or twice.

One Mosquitto and one hub (with its MQTT connector as the relay of sessions and
enrollment) serve every example; each example gets a fresh device — a garage door (window
of 32) or a door lock (strict order) — running the device-side MQTT client with its key
keeper on disk, and three phones: the owner (enrolled at the start) and two others. The
rules enroll and revoke phones, send signed commands (delivered at once or held back),
replay, duplicate and reorder what was sent as a compromised hub would (publishing on the
device's command topic itself), forge commands from keys never enrolled, restart the
device (software only, or a reboot with a new epoch) and advance the clock.

After every delivery a barrier (an already-expired command, acked in order behind the
rest) makes every earlier command's fate known; then each newly executed command must
have been signed by a key enabled now, in the current epoch, before its expiry, and never
run before. Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import gmqtt
import msgspec
from gmqtt.mqtt.constants import MQTTv311
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Ack, Device, Home, Hub
from carhome.mqtt import Backoff, MqttDeviceClient
from carhome.signing import KeyPair, PhoneSession, Role, approve, request_enrollment, session_request
from carhome.signing.envelope import CommandFields, Envelope
from carhome.signing.keeper import DeviceKeys, Revocation, approve_revocation
from carhome.signing.relay import Begin, Enroll, KeyAnswer, Revoke, Session
from carhome.spec import SPECS
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from mqtt.conftest import Mosquitto, free_port, require_mosquitto

from .conftest import TIMEOUT

H = "h1"
FAST = Backoff(first=0.02, most=0.2)
TARGETS = {"garage_door": ("open", "garage"), "door_lock": ("unlock", "home_lock")}
PHONES = ("owner", "p1", "p2")

_T = TypeVar("_T")


@dataclass
class Figures:
    examples: int = 0
    steps: int = 0
    signed: int = 0
    published: int = 0
    executed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    unauthorized: int = 0
    duplicates: int = 0


FIGURES = Figures()


class Recorder:
    """The device's command handler: records the ``n`` of each command it runs."""

    def __init__(self) -> None:
        self.ran: list[int] = []

    async def execute(self, kind: str, target: str, args: dict[str, Any]) -> Any:
        self.ran.append(int(args["n"]))
        return None


class Harness:
    """The loop, broker, hub, relay and raw publisher shared by every example."""

    def __init__(self, workdir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.workdir = workdir
        self.broker = Mosquitto(free_port(), workdir)
        self.port, self.url = self.broker.port, self.broker.url
        self.clock = FakeClock()
        self.acks: dict[str, list[Ack]] = {}
        self.arrived = asyncio.Event()
        self.examples = 0

    def run(self, work: Coroutine[Any, Any, _T]) -> _T:
        return self.loop.run_until_complete(asyncio.wait_for(work, TIMEOUT))

    def start(self) -> None:
        self.run(self.broker.start())
        self.run(self._start())

    async def _start(self) -> None:
        self.hub = Hub(store=MemoryStore(), clock=self.clock)
        await self.hub.__aenter__()
        await self.hub.add_home(Home(id=H, name="Machine", lat=39.8, lon=116.5))
        self.connector = MqttConnector(self.hub, self.url, backoff=FAST)
        await self.connector.__aenter__()
        self.wire = gmqtt.Client(f"wire-{self.port}")
        self.wire.on_message = self._on_message
        subscribed = asyncio.Event()
        self.wire.on_subscribe = lambda *_: subscribed.set()
        await self.wire.connect("127.0.0.1", self.port, version=MQTTv311)
        self.wire.subscribe(f"carhome/{H}/+/ack", qos=1)
        await subscribed.wait()

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, props: dict[str, Any]) -> None:
        ack = msgspec.json.decode(payload, type=Ack)
        self.acks.setdefault(ack.id, []).append(ack)
        self.arrived.set()

    async def ack(self, command_id: str) -> Ack:
        while not self.acks.get(command_id):
            self.arrived.clear()
            await self.arrived.wait()
        return self.acks[command_id][0]

    def stop(self) -> None:
        async def stop() -> None:
            await self.wire.disconnect()
            await self.connector.__aexit__(None, None, None)
            await self.hub.__aexit__(None, None, None)

        try:
            self.run(stop())
        finally:
            self.run(self.broker.stop())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


HARNESS: Harness | None = None


def _reason(ack: Ack) -> str:
    """The refusal code of an ack: ``expired``, or the code the device put first."""
    return "expired" if ack.status == "expired" else (ack.error or "failed").split(":")[0]


@dataclass
class Sent:
    """One signed command as the phone made it."""

    n: int
    phone: str
    epoch: bytes
    deadline: float
    message: dict[str, Any]


class SigningMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.h.examples += 1
        self.name = f"dev{self.h.examples}"
        self.dir = Path(tempfile.mkdtemp(dir=self.h.workdir))
        self.recorder = Recorder()
        self.keys: dict[str, KeyPair] = {p: KeyPair.generate() for p in PHONES}
        self.enabled: dict[str, bool] = dict.fromkeys(PHONES, False)
        self.sessions: dict[str, PhoneSession] = {}
        self.sent: dict[int, Sent] = {}
        self.published: list[int] = []
        self.held: list[int] = []
        self.ran: set[int] = set()
        self.next_n = 0
        self.code = ""
        self.client: MqttDeviceClient | None = None
        FIGURES.examples += 1

    # -- the device -------------------------------------------------------------------------

    def _show(self, code: str) -> None:
        if code:
            self.code = code

    def _open_device(self, *, boot: bool) -> None:
        self.keeper = DeviceKeys(
            self.dir,
            home=H,
            device=self.name,
            spec=SPECS[self.kind],
            clock=self.h.clock,
            boot=boot,
            display=self._show,
        )
        self.client = MqttDeviceClient(
            H, self.name, self.h.url, self.recorder, clock=self.h.clock, backoff=FAST, keys=self.keeper
        )
        self.h.run(self.client.__aenter__())

    def _close_device(self) -> None:
        if self.client is not None:
            self.h.run(self.client.__aexit__(None, None, None))
            self.client = None

    def teardown(self) -> None:
        self._close_device()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ask(self, op: Any) -> KeyAnswer:
        return self.h.run(self.h.connector.ask(H, self.name, op))

    def _enroll(self, phone: str) -> None:
        challenge = self._ask(Begin()).challenge
        assert challenge is not None
        role = Role.OWNER if phone == "owner" else Role.FAMILY
        key = self.keys[phone]
        approver = None if phone == "owner" else self.keys["owner"]
        approval = (
            None
            if approver is None
            else approve(approver, challenge, new_key=key.public, role=role, member=phone)
        )
        request = request_enrollment(
            key,
            challenge,
            role=role,
            member=phone,
            code=self.code,
            approver=approver.public if approver else None,
            approval=approval,
        )
        reply = self._ask(Enroll(request))
        assert reply.ok, reply.reason
        self.enabled[phone] = True

    @initialize(kind=st.sampled_from(sorted(TARGETS)))
    def start(self, kind: str) -> None:
        self.kind = kind
        self.target, self.domain = TARGETS[kind]
        self.h.run(self.h.hub.add_device(Device(home=H, id=self.name, type=kind, name=self.name)))
        self._open_device(boot=True)
        self._enroll("owner")

    # -- delivery ---------------------------------------------------------------------------

    def _publish(self, message: dict[str, Any]) -> None:
        FIGURES.published += 1
        self.h.wire.publish(f"carhome/{H}/{self.name}/cmd", msgspec.json.encode(message), qos=1)

    def _barrier(self) -> None:
        """Wait until the device has dealt with everything published before this."""
        marker = uuid.uuid4().hex
        self._publish(
            {"id": marker, "kind": "action", "target": self.target, "args": {"n": -1}, "expires": 1.0}
        )
        assert self.h.run(self.h.ack(marker)).status == "expired"
        self._judge()

    def _judge(self) -> None:
        """Every command run since the last look was authorized, and ran only once."""
        now = self.h.clock.time()
        new, self.recorder.ran = self.recorder.ran, []
        for n in new:
            FIGURES.executed += 1
            if n in self.ran:
                FIGURES.duplicates += 1
            sent = self.sent.get(n)
            if (
                sent is None
                or not self.enabled[sent.phone]
                or sent.epoch != self.keeper.epoch
                or now >= sent.deadline
            ):
                FIGURES.unauthorized += 1
            assert n not in self.ran, f"command {n} ran twice"
            assert sent is not None, f"command {n} was never signed by an enrolled key"
            assert self.enabled[sent.phone], f"{sent.phone}'s key is revoked, yet command {n} ran"
            assert sent.epoch == self.keeper.epoch, f"command {n} of an old epoch ran"
            assert now < sent.deadline, f"command {n} ran after its expiry"
            self.ran.add(n)

    def _deliver(self, ids: list[int]) -> None:
        for n in ids:
            self._publish(self.sent[n].message)
            self.published.append(n)
        self._barrier()
        for n in ids:
            ack = self.h.acks.get(self.sent[n].message["id"], [])
            for a in ack:
                if a.status != "acked":
                    FIGURES.refused[_reason(a)] += 1

    def _sign(self, phone: str, ttl: float) -> int | None:
        key = self.keys[phone]
        request = session_request(key)
        reply = self._ask(Session(request))
        if not reply.ok:
            assert not self.enabled[phone], f"an enabled key was refused a session: {reply.reason}"
            FIGURES.refused[f"session_{reply.reason}"] += 1
            return None
        assert self.enabled[phone], "a revoked or unknown key got a session"
        assert reply.info is not None
        session = PhoneSession(
            key=key,
            device_key=self.keeper.key.public,
            request=request,
            info=reply.info,
            now=self.h.clock.time(),
        )
        kept = self.sessions.get(phone)
        if kept is not None and kept.epoch == session.epoch and kept.counter > session.counter:
            session = kept
        self.sessions[phone] = session
        n = self.next_n
        self.next_n += 1
        now = self.h.clock.time()
        fields = CommandFields(
            id=uuid.uuid4().hex,
            home=H,
            device=self.name,
            kind="action",
            target=self.target,
            args={"n": n},
            member=phone,
            expires=now + ttl,
        )
        signature = session.sign(fields, domain=self.domain, now=now, ttl=ttl)
        message = {
            "id": fields.id,
            "kind": "action",
            "target": self.target,
            "args": {"n": n},
            "expires": fields.expires,
            "signature": signature,
            "member": phone,
        }
        self.sent[n] = Sent(n, phone, session.epoch, now + ttl, message)
        FIGURES.signed += 1
        return n

    # -- rules ------------------------------------------------------------------------------

    @precondition(lambda self: not all(self.enabled[p] for p in ("p1", "p2")))
    @rule(phone=st.sampled_from(("p1", "p2")))
    def enroll(self, phone: str) -> None:
        if self.enabled[phone] or any(k.member == phone for k in self.keeper.listing()):
            return  # revoked keys stay revoked
        self._enroll(phone)

    @rule(phone=st.sampled_from(("p1", "p2")))
    def revoke(self, phone: str) -> None:
        point = self.keys[phone].public.point
        approval = approve_revocation(
            self.keys["owner"],
            home=H,
            device=self.name,
            device_key=self.keeper.key.public,
            revoked=self.keys[phone].public,
        )
        reply = self._ask(Revoke(Revocation(point, self.keys["owner"].public.key_id, approval)))
        if reply.ok:
            self.enabled[phone] = False
        else:
            assert reply.reason == "unknown_key", reply.reason

    # mostly the owner, sometimes the others (enrolled or not), sometimes a stranger's key
    @rule(
        phone=st.sampled_from(("owner", "owner", "owner", "p1", "p2", "stranger")),
        ttl=st.sampled_from((5.0, 30.0, 300.0)),
        hold=st.sampled_from((False, False, True)),
    )
    def send(self, phone: str, ttl: float, hold: bool) -> None:
        if phone == "stranger":
            self._forge()
            return
        n = self._sign(phone, ttl)
        if n is None:
            return
        if hold:
            self.held.append(n)
        else:
            self._deliver([n])

    @rule(ttl=st.sampled_from((30.0, 300.0)), hold=st.booleans())
    def owner_sends(self, ttl: float, hold: bool) -> None:
        """The common case, drawn as often as all the rest: the owner signs one more."""
        self.send("owner", ttl, hold)

    @rule(ttl=st.sampled_from((30.0, 300.0)))
    def owner_sends_now(self, ttl: float) -> None:
        self.send("owner", ttl, hold=False)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def reorder(self, data: st.DataObject) -> None:
        order = data.draw(st.permutations(self.held))
        self.held = []
        self._deliver(order)

    @precondition(lambda self: bool(self.published))
    @rule(data=st.data(), fresh_id=st.booleans())
    def replay(self, data: st.DataObject, fresh_id: bool) -> None:
        n = data.draw(st.sampled_from(self.published))
        message = dict(self.sent[n].message)
        if fresh_id:
            message["id"] = uuid.uuid4().hex  # what a hub might try: a new id, the old signature
            self._publish(message)
            self._barrier()
            ack = self.h.acks[message["id"]][0]
            assert ack.status != "acked"
            FIGURES.refused[_reason(ack)] += 1
        else:
            self._publish(message)
            self._barrier()

    @precondition(lambda self: bool(self.published))
    @rule(times=st.integers(2, 4))
    def duplicate(self, times: int) -> None:
        message = self.sent[self.published[-1]].message
        for _ in range(times):
            self._publish(message)
        self._barrier()

    def _forge(self) -> None:
        """A key never enrolled: an envelope with its id and a made-up tag."""
        stranger = KeyPair.generate()
        n = self.next_n
        self.next_n += 1
        envelope = Envelope(1, stranger.public.key_id, self.keeper.epoch, 1, 60, self.domain, bytes(32))
        command_id = uuid.uuid4().hex
        message = {
            "id": command_id,
            "kind": "action",
            "target": self.target,
            "args": {"n": n},
            "expires": self.h.clock.time() + 30,
            "signature": envelope.encode(),
            "member": "mallory",
        }
        self._publish(message)
        self._barrier()
        ack = self.h.acks[command_id][0]
        assert ack.status == "failed"
        FIGURES.refused[_reason(ack)] += 1

    @rule(boot=st.booleans())
    def restart(self, boot: bool) -> None:
        self._close_device()
        self._open_device(boot=boot)
        if boot:
            self.sessions.clear()

    @rule(seconds=st.sampled_from((1.0, 10.0, 60.0, 400.0)))
    def advance(self, seconds: float) -> None:
        self.h.run(self.h.clock.advance(seconds))

    @invariant()
    def count(self) -> None:
        FIGURES.steps += 1


def test_nothing_unauthorized_or_duplicate_ever_executes(tmp_path: Path) -> None:
    global HARNESS  # noqa: PLW0603 - the machine's instances share one broker and hub
    require_mosquitto()
    HARNESS = Harness(tmp_path)
    HARNESS.start()
    try:
        run_state_machine_as_test(
            SigningMachine,
            settings=settings(
                max_examples=18,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        HARNESS.stop()
        HARNESS = None
    print(
        f"\nsigning state machine: {FIGURES.examples} examples, {FIGURES.steps} steps,"
        f" signed {FIGURES.signed}, published {FIGURES.published} (barriers included),"
        f" executed {FIGURES.executed}, unauthorized executed {FIGURES.unauthorized},"
        f" duplicates executed {FIGURES.duplicates}"
    )
    print("  refused by reason: " + ", ".join(f"{r}={n}" for r, n in FIGURES.refused.most_common()))
    assert FIGURES.unauthorized == 0
    assert FIGURES.duplicates == 0
    assert FIGURES.executed > 0
