"""The words of the say feature: what a device type, a room, a property or a verb is called
in English and Chinese.

These are words of the languages, keyed by the spec's own vocabulary (device types,
property names, action names), never by a particular home's devices: a home's own device
names and rooms come from its live model (``carhome.say.vocabulary``), and a property or
room this table does not know is still called by its own name made readable
(``fan_level`` → "fan level", ``StateOfCharge`` → "state of charge").
"""

from __future__ import annotations

import re
from typing import Final, Literal

from carhome.spec import vss

Language = Literal["en", "zh"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "zh")

# Device types: the first word of each list is the one answers use.
TYPE_WORDS: Final[dict[str, dict[Language, tuple[str, ...]]]] = {
    "car": {"en": ("car", "vehicle"), "zh": ("车", "汽车", "车子")},
    "air_purifier": {"en": ("air purifier", "purifier"), "zh": ("空气净化器", "净化器")},
    "air_conditioner": {
        "en": ("air conditioner", "ac", "aircon", "air conditioning"),
        "zh": ("空调",),
    },
    "light": {"en": ("light", "lamp", "lights"), "zh": ("灯", "电灯", "台灯")},
    "door_lock": {"en": ("door lock", "lock", "door"), "zh": ("门锁", "前门", "大门", "入户门", "门", "锁")},
    "rice_cooker": {"en": ("rice cooker", "cooker"), "zh": ("电饭煲", "电饭锅")},
    "garage_door": {"en": ("garage door", "garage"), "zh": ("车库门", "车库")},
    "robot_vacuum": {"en": ("robot vacuum", "vacuum", "robot"), "zh": ("扫地机器人", "扫地机")},
    "wallbox": {"en": ("wallbox", "charger", "charging station"), "zh": ("充电桩", "充电器")},
    "phone": {"en": ("phone",), "zh": ("手机",)},
}

# Rooms by their usual ids; any other room id is still known in English by its id.
ROOM_WORDS: Final[dict[str, dict[Language, tuple[str, ...]]]] = {
    "living_room": {"en": ("living room", "lounge"), "zh": ("客厅",)},
    "bedroom": {"en": ("bedroom",), "zh": ("卧室", "睡房")},
    "kitchen": {"en": ("kitchen",), "zh": ("厨房",)},
    "garage": {"en": ("garage",), "zh": ("车库",)},
    "hall": {"en": ("hall", "hallway", "entrance"), "zh": ("门厅", "玄关")},
    "study": {"en": ("study",), "zh": ("书房",)},
    "bathroom": {"en": ("bathroom",), "zh": ("浴室", "卫生间")},
    "dining_room": {"en": ("dining room",), "zh": ("餐厅",)},
    "balcony": {"en": ("balcony",), "zh": ("阳台",)},
    "office": {"en": ("office",), "zh": ("办公室",)},
    "kids_room": {"en": ("kids room", "children's room"), "zh": ("儿童房",)},
}

# Properties by their spec names (shared by every device of a type, or every car).
PROPERTY_WORDS: Final[dict[str, dict[Language, tuple[str, ...]]]] = {
    vss.SOC: {
        "en": ("charge", "battery", "battery level", "state of charge", "soc"),
        "zh": ("电量", "电", "剩余电量", "电池"),
    },
    vss.RANGE: {"en": ("range", "remaining range"), "zh": ("续航", "续航里程", "剩余里程")},
    vss.CABIN_TEMPERATURE: {
        "en": ("cabin temperature", "inside temperature", "temperature inside", "temperature"),
        "zh": ("车内温度", "车里温度", "温度"),
    },
    vss.OUTSIDE_TEMPERATURE: {
        "en": ("outside temperature", "temperature outside"),
        "zh": ("车外温度", "室外温度", "外面温度"),
    },
    vss.CHARGE_LIMIT: {
        "en": ("charge target", "charge limit", "charging target", "charging limit", "target charge"),
        "zh": ("充电目标", "充电上限", "目标电量"),
    },
    vss.HVAC_SET_POINT: {
        "en": ("climate set point", "cabin set point", "set point", "climate temperature"),
        "zh": ("设定温度", "空调温度"),
    },
    vss.SPEED: {"en": ("speed",), "zh": ("车速", "速度")},
    vss.ODOMETER: {"en": ("odometer", "mileage"), "zh": ("总里程",)},
    vss.IS_CHARGING: {"en": ("charging",), "zh": ("充电状态",)},
    "temperature": {"en": ("temperature",), "zh": ("温度", "室温")},
    "target_temperature": {
        "en": ("target temperature", "set point", "temperature setting", "temperature"),
        "zh": ("设定温度", "目标温度", "温度"),
    },
    "pm25": {"en": ("pm2.5", "pm 2.5", "air quality"), "zh": ("pm2.5", "空气质量")},
    "humidity": {"en": ("humidity",), "zh": ("湿度",)},
    "battery": {"en": ("battery", "battery level"), "zh": ("电量", "电池", "电")},
    "brightness": {"en": ("brightness",), "zh": ("亮度",)},
    "filter_life": {"en": ("filter life", "filter"), "zh": ("滤芯寿命", "滤芯")},
    "fan_level": {"en": ("fan level",), "zh": ("风速", "档位")},
    "remaining": {"en": ("time left", "remaining time"), "zh": ("剩余时间",)},
    "power": {"en": ("power", "charging power"), "zh": ("功率", "充电功率")},
    "energy": {"en": ("energy",), "zh": ("电能", "充电量")},
    "state": {"en": ("state", "status"), "zh": ("状态",)},
    "status": {"en": ("status", "state"), "zh": ("状态",)},
    "position": {"en": ("position",), "zh": ("位置",)},
    "current_limit": {"en": ("current limit",), "zh": ("电流上限",)},
}

# Units as answers say them.
UNIT_WORDS: Final[dict[str, dict[Language, str]]] = {
    "percent": {"en": " %", "zh": "%"},
    "celsius": {"en": " °C", "zh": "°C"},
    "ug/m3": {"en": " µg/m³", "zh": "微克/立方米"},
    "km": {"en": " km", "zh": "公里"},
    "km/h": {"en": " km/h", "zh": "公里/小时"},
    "min": {"en": " min", "zh": "分钟"},
    "s": {"en": " s", "zh": "秒"},
}

# What a value of a state property is called.
VALUE_WORDS: Final[dict[str, dict[Language, str]]] = {
    "open": {"en": "open", "zh": "开着"},
    "closed": {"en": "closed", "zh": "关着"},
    "opening": {"en": "opening", "zh": "正在打开"},
    "closing": {"en": "closing", "zh": "正在关闭"},
    "stopped": {"en": "stopped half-way", "zh": "停在半路"},
    "on": {"en": "on", "zh": "开着"},
    "off": {"en": "off", "zh": "关着"},
    "locked": {"en": "locked", "zh": "锁着"},
    "unlocked": {"en": "unlocked", "zh": "没锁"},
}

_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese characters (how a request's language is guessed)."""
    return _CJK.search(text) is not None


def readable(name: str) -> str:
    """A spec name made readable in English: the last part of a VSS path, words split."""
    last = name.rsplit(".", 1)[-1]
    return _CAMEL.sub(" ", last).replace("_", " ").lower().strip()


def type_words(device_type: str, language: Language) -> tuple[str, ...]:
    known = TYPE_WORDS.get(device_type)
    if known is not None:
        return known[language]
    return (readable(device_type),) if language == "en" else ()


def room_words(room: str, language: Language) -> tuple[str, ...]:
    known = ROOM_WORDS.get(room)
    if known is not None:
        return known[language]
    return (readable(room),) if language == "en" else ()


def property_words(prop: str, language: Language) -> tuple[str, ...]:
    known = PROPERTY_WORDS.get(prop)
    if known is not None:
        return known[language]
    return (readable(prop),) if language == "en" else ()
