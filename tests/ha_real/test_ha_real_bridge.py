"""carhome in a real Home Assistant (2025.4, its MQTT integration) over each real broker
(Mosquitto, the built-in NATS server).

A carhome hub runs the demo's simulated home (car and ten home devices, each its own MQTT
client) with the MQTT connector and the Home Assistant bridge, and with access control on
as the demo runs it: the hub's gatekeeper is the access policy's, and Home Assistant acts
as a member of the home, an owner. Home Assistant's MQTT integration, set up through its
config flow, reads the bridge's discovery. The tests look only at what Home Assistant
shows through its own APIs: the device and entity registries, the states with their device
classes and units, and its log; and they act in Home Assistant (services) to see commands
reach the simulated car through carhome's hub — or be refused there, and Home Assistant told.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import gmqtt
import msgspec
import pytest
import pytest_asyncio
from gmqtt.mqtt.constants import MQTTv311
from ha_real_hass import RealHomeAssistant

from carhome.access.service import Access
from carhome.connectors.homeassistant import FACE, HomeAssistantBridge
from carhome.connectors.homeassistant.entities import key_of
from carhome.connectors.mqtt import MqttConnector
from carhome.hub import Availability, Change, Command, CommandStatus, Home, Hub, Place, Result
from carhome.mqtt import EmbeddedBroker
from carhome.sim import Outdoor, SimAirPurifier, SimHome, SimRunner
from carhome.spec import vss
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from mqtt.conftest import FAST, TIMEOUT, Mosquitto

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEMBER = "ha-user"
COVER_STOP = 8  # Home Assistant's CoverEntityFeature.STOP
WORK = Place("work", 39.8090, 116.4890, 200.0)  # a named place other than home, 2 km off
HOME = Home(
    id="h1",
    name="Yizhuang",
    lat=39.7953,
    lon=116.5060,
    radius_m=150.0,
    timezone="Asia/Shanghai",
    places=(WORK,),
)


@dataclass
class Carhome:
    """The carhome side: hub, simulated home, bridge, and every command that finished."""

    hub: Hub
    sim: SimHome
    clock: FakeClock
    bridge: HomeAssistantBridge
    access: Access
    finished: list[Command] = field(default_factory=list)

    def node(self, device: str) -> str:
        return self.bridge.node("h1", device)

    def components(self, device: str) -> dict[str, dict[str, Any]]:
        """The discovery components the bridge publishes for ``device``, by key."""
        config: dict[str, Any] = msgspec.json.decode(self.bridge.config(self.hub.device("h1", device)))
        components: dict[str, dict[str, Any]] = config["cmps"]
        return components

    def car_locked(self) -> bool:
        """Whether the simulated car itself has its doors locked."""
        return self.sim.car.doors_locked

    def done(self, target: str) -> list[Command]:
        return [c for c in self.finished if c.target == target]


async def _until_all_reported(hub: Hub, sim: SimHome) -> None:
    """Every simulated device online and its first full state in the hub."""
    ready = asyncio.Event()

    def check(*_: object) -> None:
        if all(hub.available("h1", d) and hub.state("h1", d) for d in sim.devices):
            ready.set()

    with hub.bus.subscribe(check, kind=Availability, home="h1"), hub.bus.subscribe(check, home="h1"):
        check()
        await asyncio.wait_for(ready.wait(), TIMEOUT)


class CommandSpy:
    """An MQTT client beside the bridge that sees each command Home Assistant publishes,
    with the QoS it arrives at (a QoS-1 subscription gets what the publisher sent)."""

    def __init__(self, url: str) -> None:
        self.port = int(url.rsplit(":", 1)[1])
        self.client = gmqtt.Client(f"ha-command-spy-{id(self)}")
        self.seen: asyncio.Queue[tuple[str, bytes, int]] = asyncio.Queue()
        self._subscribed = asyncio.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()

    def _on_message(self, _c: object, topic: str, payload: bytes, qos: int, _p: object) -> None:
        self.seen.put_nowait((topic, payload, qos))

    async def __aenter__(self) -> CommandSpy:
        await asyncio.wait_for(self.client.connect("127.0.0.1", self.port, version=MQTTv311), TIMEOUT)
        self.client.subscribe("carhome/+/+/ha/cmd/#", qos=1)
        await asyncio.wait_for(self._subscribed.wait(), TIMEOUT)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    async def next(self) -> tuple[str, bytes, int]:
        return await asyncio.wait_for(self.seen.get(), TIMEOUT)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def carhome(
    broker: Mosquitto | EmbeddedBroker,
    home_assistant: RealHomeAssistant,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Carhome]:
    """carhome's hub with the demo's simulated home, bridged to the running Home Assistant.

    Access is on as in the demo: the policy's gatekeeper decides, and Home Assistant acts as
    a member who owns the home.
    """
    clock = FakeClock()
    async with (
        Access.open(tmp_path_factory.mktemp("access"), clock) as access,
        Hub(store=MemoryStore(), clock=clock, gatekeeper=access.gatekeeper) as hub,
    ):
        await access.ensure_owner(MEMBER, HOME.id, "Home Assistant", secrets.token_urlsafe(16))
        access.guard(hub.commands)
        await hub.add_home(HOME)
        sim = SimHome(HOME, outdoor=Outdoor(fixed_temperature=5.0), routine=False)
        for record in sim.records():
            await hub.add_device(record)
        async with (
            MqttConnector(hub, broker.url, backoff=FAST),
            SimRunner(sim, broker.url, clock=clock, tick=1.0),
            HomeAssistantBridge(hub, broker.url, member=MEMBER, backoff=FAST) as bridge,
        ):
            await _until_all_reported(hub, sim)
            world = Carhome(hub, sim, clock, bridge, access)
            hub.bus.subscribe(lambda r: r.final and world.finished.append(r.command), kind=Result)
            yield world


async def _registered(ha: RealHomeAssistant, carhome: Carhome, device: str) -> dict[str, dict[str, Any]]:
    """Wait until Home Assistant registered every entity of ``device``; them, by key."""
    node = carhome.node(device)
    wanted = {f"{node}_{key}": key for key in carhome.components(device)}
    found: dict[str, dict[str, Any]] = {}

    async def all_there() -> bool:
        found.clear()
        for entry in await ha.entities():
            if entry["unique_id"] in wanted and entry["platform"] == "mqtt":
                found[wanted[entry["unique_id"]]] = entry
        return len(found) == len(wanted)

    try:
        await ha.until(all_there, f"the {len(wanted)} entities of {device}")
    except AssertionError as exc:
        missing = sorted(set(wanted.values()) - set(found))
        raise AssertionError(f"Home Assistant has no entity for {missing}\n{exc}") from None
    return found


async def _entity_id(ha: RealHomeAssistant, carhome: Carhome, device: str, key: str) -> str:
    return str((await _registered(ha, carhome, device))[key]["entity_id"])


async def test_the_car_is_a_device_with_its_entities_classes_and_units(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    entries = await _registered(ha, carhome, "car")
    devices = await ha.devices()
    (car,) = [d for d in devices if ["mqtt", carhome.node("car")] in d["identifiers"]]
    assert (car["name"], car["manufacturer"], car["model"]) == ("Car", "carhome", "Electric car")
    assert {e["device_id"] for e in entries.values()} == {car["id"]}

    components = carhome.components("car")
    checked = 0
    for key, component in components.items():
        entry = entries[key]
        if component.get("enabled_by_default") is False:
            assert entry["disabled_by"] == "integration"
            continue
        state = await ha.state_until(entry["entity_id"], lambda s: s["state"] != "unavailable", "available")
        attributes = state["attributes"]
        for option, attribute in (
            ("device_class", "device_class"),
            ("unit_of_measurement", "unit_of_measurement"),
            ("state_class", "state_class"),
        ):
            if option in component:
                assert attributes.get(attribute) == component[option], (key, option, attributes)
                checked += 1
    assert checked > 40  # the car's sensors really carry classes and units

    # A few by name, as a person would read them in Home Assistant.
    battery = await ha.state(entries[key_of(vss.SOC)]["entity_id"])
    assert battery is not None
    assert battery["state"] == "65.0"
    assert (battery["attributes"]["device_class"], battery["attributes"]["unit_of_measurement"]) == (
        "battery",
        "%",
    )
    # The doors show locked; Home Assistant, which may not lock or unlock, is given no lock.
    assert entries["doors"]["entity_id"].startswith("binary_sensor.")
    lock = await ha.state(entries["doors"]["entity_id"])
    assert lock is not None
    assert (lock["state"], lock["attributes"]["device_class"]) == ("off", "lock")  # off: locked
    tracker = await ha.state(entries["location"]["entity_id"])
    assert tracker is not None
    assert tracker["state"] == "home"
    assert (tracker["attributes"]["latitude"], tracker["attributes"]["longitude"]) == (HOME.lat, HOME.lon)
    climate = await ha.state(entries["climate"]["entity_id"])
    assert climate is not None
    assert climate["attributes"]["hvac_modes"] == ["off", "auto"]
    assert climate["attributes"]["current_temperature"] == carhome.hub.value(
        "h1", "car", vss.CABIN_TEMPERATURE
    )


async def test_every_device_of_the_home_is_in_home_assistant_without_complaint(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    for device in carhome.sim.devices:
        await _registered(ha, carhome, device)
    areas = {d["name"]: d["area_id"] for d in await ha.devices() if d["manufacturer"] == "carhome"}
    assert areas["Living room purifier"] == "living_room"  # the device's room, as a suggested area
    assert areas["Car"] is None
    # Home Assistant logs every discovery it cannot use and every class/unit it rejects.
    problems = ha.problems()
    assert problems == [], "\n".join(problems)


async def test_a_state_change_in_carhome_is_followed_in_home_assistant(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    door = await _entity_id(ha, carhome, "car", key_of(vss.DOOR_OPEN[0]))
    climate = await _entity_id(ha, carhome, "car", "climate")
    await ha.state_until(door, lambda s: s["state"] == "off", "off (closed)")
    await ha.state_until(climate, lambda s: s["state"] == "off", "off")

    carhome.sim.car.open_door(0)  # someone opens the driver's door …
    carhome.sim.car.set_climate(True)  # … and switches the cabin climate on from the car
    await carhome.clock.advance(1.0)  # the simulator's next tick publishes what changed

    await ha.state_until(door, lambda s: s["state"] == "on", "on (open)")
    await ha.state_until(climate, lambda s: s["state"] == "auto", "auto")
    assert carhome.hub.value("h1", "car", vss.DOOR_OPEN[0]) is True

    carhome.sim.car.close_door(0)
    carhome.sim.car.set_climate(False)
    await carhome.clock.advance(1.0)
    await ha.state_until(door, lambda s: s["state"] == "off", "off (closed again)")
    await ha.state_until(climate, lambda s: s["state"] == "off", "off again")


async def test_a_device_offline_in_carhome_is_unavailable_in_home_assistant(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    power = await _entity_id(ha, carhome, "living_room_purifier", "on")
    await ha.state_until(power, lambda s: s["state"] in ("on", "off"), "on or off")
    carhome.hub.set_available("h1", "living_room_purifier", False)
    await ha.state_until(power, lambda s: s["state"] == "unavailable", "unavailable")
    carhome.hub.set_available("h1", "living_room_purifier", True)
    await ha.state_until(power, lambda s: s["state"] in ("on", "off"), "available again")


async def _result_event(ha: RealHomeAssistant, entity_id: str, after: str | None) -> dict[str, Any]:
    """The next state of a ``command_result`` event entity (its state is when it fired)."""
    return await ha.state_until(entity_id, lambda s: s["state"] not in ("unknown", after), "a new event")


async def test_home_assistant_is_offered_no_control_the_policy_refuses_it(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    car = await _registered(ha, carhome, "car")
    garage = await _registered(ha, carhome, "garage_door")
    front_door = await _registered(ha, carhome, "front_door")
    wallbox = await _registered(ha, carhome, "wallbox")
    ours = [e for e in await ha.entities() if e["unique_id"].startswith("carhome_h1_")]
    assert [e["entity_id"] for e in ours if e["entity_id"].startswith("lock.")] == []
    assert {"open_trunk", "charging"}.isdisjoint(car)  # no trunk button, no charge switch
    assert "start_charging" not in wallbox
    assert car["stop_charging"]["entity_id"].startswith("button.")  # stopping is ordinary
    assert front_door["lock"]["entity_id"].startswith("binary_sensor.")
    # The garage door keeps its stop button: Home Assistant offers neither open nor close.
    door = await ha.state_until(garage["door"]["entity_id"], lambda s: s["state"] != "unavailable", "there")
    assert door["attributes"]["supported_features"] == COVER_STOP


async def test_an_unlock_sent_anyway_is_refused_by_carhome_and_home_assistant_is_told(
    home_assistant: RealHomeAssistant, carhome: Carhome, broker: Mosquitto | EmbeddedBroker
) -> None:
    ha = home_assistant
    car = await _registered(ha, carhome, "car")
    doors, result = car["doors"]["entity_id"], car["command_result"]["entity_id"]
    await ha.state_until(doors, lambda s: s["state"] == "off", "off (locked)")
    before = (await ha.state(result) or {}).get("state")

    async with CommandSpy(broker.url) as spy:
        # A user's script in Home Assistant publishes the old lock command itself.
        await ha.call("mqtt", "publish", topic="carhome/h1/car/ha/cmd/doors/set", payload="UNLOCK", qos=1)
        assert await spy.next() == ("carhome/h1/car/ha/cmd/doors/set", b"UNLOCK", 1)
    event = await _result_event(ha, result, before)
    assert event["attributes"]["event_type"] == "refused"
    assert event["attributes"]["command"] == "unlock"
    assert "may not car_doors from homeassistant" in event["attributes"]["reason"]
    await carhome.bridge.drain()
    assert carhome.car_locked()  # the car was never asked
    assert carhome.done("unlock") == []
    assert (carhome.bridge.stats.denied, carhome.bridge.stats.commands) == (1, 0)
    assert (await ha.state(doors) or {}).get("state") == "off"


async def test_a_command_the_device_fails_is_reported_in_home_assistant(
    home_assistant: RealHomeAssistant, carhome: Carhome, broker: Mosquitto | EmbeddedBroker
) -> None:
    ha = home_assistant
    purifier = await _registered(ha, carhome, "living_room_purifier")
    power, result = purifier["on"]["entity_id"], purifier["command_result"]["entity_id"]
    await ha.state_until(power, lambda s: s["state"] == "off", "off")
    before = (await ha.state(result) or {}).get("state")
    simulated = carhome.sim.devices["living_room_purifier"]
    assert isinstance(simulated, SimAirPurifier)
    life, simulated.filter_life = simulated.filter_life, 0.0  # the filter is used up
    try:
        async with CommandSpy(broker.url) as spy:
            await ha.call("switch", "turn_on", entity_id=power)
            # Home Assistant publishes at the QoS the discovery asked for, so a dropped link
            # does not lose the command.
            assert await spy.next() == ("carhome/h1/living_room_purifier/ha/cmd/on/set", b"ON", 1)
        event = await _result_event(ha, result, before)
    finally:
        simulated.filter_life = life
    assert (event["attributes"]["event_type"], event["attributes"]["command"]) == ("failed", "on")
    assert "the filter is used up" in event["attributes"]["reason"]
    (command,) = carhome.done("on")
    assert (command.status, command.face, command.member) == (CommandStatus.FAILED, FACE, MEMBER)
    assert (await ha.state(power) or {}).get("state") == "off"


def _gps(state: dict[str, Any]) -> tuple[object, object]:
    return (state["attributes"].get("latitude"), state["attributes"].get("longitude"))


async def test_the_car_at_a_named_place_is_there_in_home_assistant_with_its_gps(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    tracker = await _entity_id(ha, carhome, "car", "location")
    await ha.state_until(tracker, lambda s: s["state"] == "home", "home")
    problems_before = len(ha.problems())
    car = carhome.sim.car
    try:
        car.lat, car.lon = WORK.lat, WORK.lon  # the car is parked at work …
        await carhome.clock.advance(1.0)  # … and says so on the simulator's next tick
        # The place (the tracker's state topic) and the GPS (its attributes, from the car's
        # state topic) are two messages, which Home Assistant applies one at a time.
        at_work = await ha.state_until(
            tracker, lambda s: s["state"] == "work" and _gps(s) == (WORK.lat, WORK.lon), "work"
        )
        assert carhome.hub.value("h1", "car", "place") == "work"
        assert _gps(at_work) == (WORK.lat, WORK.lon)
        car.lat, car.lon = 39.90, 116.40  # … then away from every place
        await carhome.clock.advance(1.0)
        away = await ha.state_until(
            tracker, lambda s: s["state"] == "not_home" and _gps(s)[0] == 39.90, "not_home"
        )
        assert away["attributes"]["latitude"] == 39.90
    finally:
        car.lat, car.lon = HOME.lat, HOME.lon
        await carhome.clock.advance(1.0)
    await ha.state_until(tracker, lambda s: s["state"] == "home", "home again")
    later = ha.problems()[problems_before:]
    assert later == [], "\n".join(later)  # no InvalidStateError, nothing else


async def test_a_number_set_in_home_assistant_is_written_to_the_car(
    home_assistant: RealHomeAssistant, carhome: Carhome
) -> None:
    ha = home_assistant
    limit = await _entity_id(ha, carhome, "car", key_of(vss.CHARGE_LIMIT))
    await ha.state_until(limit, lambda s: s["state"] == "80", "80")
    written: asyncio.Future[Change] = asyncio.get_running_loop().create_future()
    sub = carhome.hub.bus.subscribe(
        lambda c: None if written.done() else written.set_result(c),
        home="h1",
        device="car",
        name=vss.CHARGE_LIMIT,
    )
    try:
        await ha.call("number", "set_value", entity_id=limit, value=90)
        assert (await asyncio.wait_for(written, TIMEOUT)).value == 90
    finally:
        sub.cancel()
    await ha.state_until(limit, lambda s: s["state"] == "90", "90")
    (command,) = carhome.done(vss.CHARGE_LIMIT)
    assert (command.kind, command.args, command.face) == ("set", {"value": 90.0}, FACE)
    assert carhome.sim.car.charge_limit == 90
