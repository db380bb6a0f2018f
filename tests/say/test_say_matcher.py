"""The matcher alone: sentences in English and Chinese against the demo home's devices
(and a home with a device the lexicon has never heard of), with no hub."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carhome.hub.model import Device, Home
from carhome.say import understand
from carhome.say.vocabulary import Thing
from carhome.sim.world import SimHome
from carhome.spec import SPECS, vss

HOME = Home(id="yizhuang", name="Demo", lat=39.7953, lon=116.506, timezone="Asia/Shanghai")
THINGS = [Thing(d, SPECS[d.type]) for d in SimHome(HOME, routine=False).records()]

# sentence → (outcome, device, target: action name or property)
COMMANDS = {
    "turn on the living room air purifier": ("living_room_purifier", "turn_on"),
    "Turn on the living room purifier": ("living_room_purifier", "turn_on"),
    "switch the living room purifier on": ("living_room_purifier", "turn_on"),
    "turn off the purifier in the living room": ("living_room_purifier", "turn_off"),
    "turn on the light": ("living_room_light", "turn_on"),
    "switch off the living room light.": ("living_room_light", "turn_off"),
    "lock the car": ("car", "lock"),
    "unlock the front door": ("front_door", "unlock"),
    "close the garage": ("garage_door", "close"),
    "open the garage door": ("garage_door", "open"),
    "start the robot vacuum": ("vacuum", "start"),
    "start charging the car": ("car", "start_charging"),
    "set the charge target to 80%": ("car", vss.CHARGE_LIMIT),
    "set the charge limit to 90 percent": ("car", vss.CHARGE_LIMIT),
    "set the living room air conditioner to 24 degrees": ("living_room_ac", "target_temperature"),
    "set the bedroom ac to 22.5": ("bedroom_ac", "target_temperature"),
    "set the living room light's brightness to 40 %": ("living_room_light", "brightness"),
    "打开客厅的灯": ("living_room_light", "turn_on"),
    "打开客厅灯": ("living_room_light", "turn_on"),
    "把客厅的灯关掉": ("living_room_light", "turn_off"),
    "关灯": ("living_room_light", "turn_off"),
    "打开净化器": ("living_room_purifier", "turn_on"),
    "开空气净化器": ("living_room_purifier", "turn_on"),
    "把客厅空调调到24度": ("living_room_ac", "target_temperature"),
    "把卧室的空调设为26度": ("bedroom_ac", "target_temperature"),
    "把充电目标设为80%": ("car", vss.CHARGE_LIMIT),
    "锁车": ("car", "lock"),
    "把车锁上": ("car", "lock"),
    "关上车库门": ("garage_door", "close"),
    "打开车库门": ("garage_door", "open"),
    "扫地机器人开始工作": ("vacuum", "start"),
    "给车开始充电": ("car", "start_charging"),
}

QUESTIONS = {
    "is the garage open?": ("garage_door", None, "open"),
    "Is the garage door closed": ("garage_door", None, "closed"),
    "is the front door locked?": ("front_door", None, "locked"),
    "is the car locked": ("car", None, "locked"),
    "is the living room light on?": ("living_room_light", None, "on"),
    "how much charge is left?": ("car", vss.SOC, None),
    "how much charge does the car have left": ("car", vss.SOC, None),
    "what's the cabin temperature": ("car", vss.CABIN_TEMPERATURE, None),
    "what is the car's range?": ("car", vss.RANGE, None),
    "what's the temperature in the living room": ("living_room_ac", "temperature", None),
    "what is the pm2.5 in the living room": ("living_room_purifier", "pm25", None),
    "车还有多少电": ("car", vss.SOC, None),
    "车还有多少电？": ("car", vss.SOC, None),
    "车的续航是多少": ("car", vss.RANGE, None),
    "车内温度是多少": ("car", vss.CABIN_TEMPERATURE, None),
    "客厅的湿度是多少": ("living_room_purifier", "humidity", None),
    "车库门开着吗？": ("garage_door", None, "open"),
    "前门锁了吗": ("front_door", None, "locked"),
    "灯开着吗": ("living_room_light", None, "on"),
}


@pytest.mark.parametrize(("text", "expected"), COMMANDS.items())
def test_say_commands_resolve_to_one_device_and_target(text: str, expected: tuple[str, str]) -> None:
    u = understand(text, THINGS)
    assert u.outcome == "command", (text, u)
    assert u.operation is not None
    assert (u.devices[0], u.operation.target) == expected


def test_say_a_set_carries_the_number_checked_against_the_spec() -> None:
    u = understand("set the charge target to 80%", THINGS)
    assert u.operation is not None
    assert (u.operation.kind, dict(u.operation.args)) == ("set", {"value": 80})
    zh = understand("把客厅空调调到24.5度", THINGS)
    assert zh.operation is not None
    assert dict(zh.operation.args) == {"value": 24.5}
    assert zh.language == "zh"


@pytest.mark.parametrize(("text", "expected"), QUESTIONS.items())
def test_say_questions_name_the_device_and_what_is_asked(
    text: str, expected: tuple[str, str | None, str | None]
) -> None:
    u = understand(text, THINGS)
    assert u.outcome == "question", (text, u)
    assert (u.devices[0], u.prop, u.state) == expected


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("turn on the air conditioner", ("bedroom_ac", "car", "living_room_ac")),
        ("把空调调到24度", ("bedroom_ac", "car", "living_room_ac")),
        ("打开空调", ("bedroom_ac", "car", "living_room_ac")),
        ("what's the battery level", ("car", "front_door", "phone", "vacuum")),
    ],
)
def test_say_several_fitting_devices_are_candidates(text: str, candidates: tuple[str, ...]) -> None:
    u = understand(text, THINGS)
    assert (u.outcome, u.candidates, u.operation) == ("ambiguous", candidates, None)


@pytest.mark.parametrize(
    ("text", "here", "device", "target"),
    [
        ("把空调调到24度", "car", "car", vss.HVAC_SET_POINT),
        ("turn on the air conditioner", "car", "car", "climate_on"),
        ("打开空调", "living_room", "living_room_ac", "turn_on"),
        ("set the air conditioner to 22 degrees", "bedroom", "bedroom_ac", "target_temperature"),
    ],
)
def test_say_where_it_is_asked_picks_among_fitting_devices(
    text: str, here: str, device: str, target: str
) -> None:
    u = understand(text, THINGS, here=here)
    assert u.outcome == "command", u
    assert u.operation is not None
    assert (u.devices, u.operation.target) == ((device,), target)


def test_say_where_it_is_asked_does_not_pick_when_nothing_fits_there() -> None:
    u = understand("把空调调到24度", THINGS, here="kitchen")
    assert (u.outcome, u.candidates) == ("ambiguous", ("bedroom_ac", "car", "living_room_ac"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("make me a sandwich", "no_match"),
        ("", "no_match"),
        ("???", "no_match"),
        ("给我讲个笑话", "no_match"),
        ("lock the light", "cannot"),
        ("turn on the kitchen light", "unknown_device"),
        ("set the living room air conditioner to 40 degrees", "invalid_value"),
        ("把充电目标设为120%", "invalid_value"),
        ("把客厅空调调到5度", "invalid_value"),
    ],
)
def test_say_what_is_not_understood_says_why(text: str, reason: str) -> None:
    u = understand(text, THINGS)
    assert (u.outcome, u.reason, u.operation) == ("not_understood", reason, None)


def test_say_the_language_is_guessed_or_given() -> None:
    assert understand("turn on the light", THINGS).language == "en"
    assert understand("打开客厅的灯", THINGS).language == "zh"
    forced = understand("turn on the light", THINGS, "zh")
    assert (forced.language, forced.outcome) == ("zh", "not_understood")


def test_say_a_new_device_is_understood_from_the_model_alone() -> None:
    """A "Study lamp" in room "study": no code knows it, the model does."""
    lamp = Thing(
        Device(home="yizhuang", id="lamp7", type="light", name="Study lamp", room="study"), SPECS["light"]
    )
    things = [*THINGS, lamp]
    for text in ("turn on the study lamp", "turn on the light in the study", "打开书房的灯", "把书房灯关了"):
        u = understand(text, things)
        assert (u.outcome, u.devices) == ("command", ("lamp7",)), text
    # with two lights in the home, "the light" is now a question back
    both = understand("turn on the light", things)
    assert (both.outcome, both.candidates) == ("ambiguous", ("lamp7", "living_room_light"))
    # a device named in Chinese is known by that name
    cooker = Thing(
        Device(home="yizhuang", id="pot", type="rice_cooker", name="小米饭煲", room="kitchen"),
        SPECS["rice_cooker"],
    )
    u = understand("小米饭煲开始工作", [*THINGS, cooker])
    assert (u.outcome, u.devices) == ("command", ("pot",))


def _scramble(draw: st.DrawFn, phrase: str) -> str:
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in phrase)
    return draw(st.sampled_from([" ", "  ", "\t"])).join(cased.split(" "))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_say_device_names_match_whatever_their_casing_and_spacing(data: st.DataObject) -> None:
    thing = data.draw(st.sampled_from([t for t in THINGS if "turn_on" in t.spec.actions]))
    name = _scramble(data.draw, thing.device.name)
    verb = _scramble(data.draw, data.draw(st.sampled_from(["turn on the", "switch on", "power on the"])))
    u = understand(f"  {verb} {name} ", THINGS)
    assert (u.outcome, u.devices) == ("command", (thing.id,))


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=60))
def test_say_any_text_gets_an_understanding_and_never_raises(text: str) -> None:
    u = understand(text, THINGS)
    assert u.outcome in ("command", "question", "ambiguous", "not_understood")
    if u.outcome == "command":
        assert u.operation is not None
        assert len(u.devices) == 1
