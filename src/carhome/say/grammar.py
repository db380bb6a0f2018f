"""The sentences the say feature understands, as hassil templates, in English and Chinese.

The templates name slots, never devices: ``{device}``, ``{area}``, ``{property}`` and
``{state}`` are filled at match time from the home's live model (``carhome.say.vocabulary``),
so a device added to the home is understood without a change here. hassil (Home
Assistant's intent matcher) matches Chinese without spaces as well as English, so both
languages share one matcher.

Each intent's name is what the matcher resolves (``carhome.say.matcher``): a verb
(``turn_on`` … ``stop``), ``set`` (a property to a number), ``query`` (a property's value)
or ``is`` (a yes/no question about a device's state).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from hassil import Intents

from carhome.say.lexicon import Language

_EN_DEV: Final = "[the] [{area}] {device}[ in [the] {area}]"
_EN_OWNER: Final = "[the] [{area}] {device}[']s"

EN: Final[dict[str, list[str]]] = {
    "turn_on": [
        f"(turn|switch|power) on {_EN_DEV}",
        "(turn|switch|power) [the] [{area}] {device} on",
    ],
    "turn_off": [
        f"(turn|switch|power) off {_EN_DEV}",
        "(turn|switch|power) [the] [{area}] {device} off",
    ],
    "open": [f"(open|raise) {_EN_DEV}"],
    "close": [f"(close|shut|lower) {_EN_DEV}"],
    "lock": [f"lock {_EN_DEV}"],
    "unlock": [f"unlock {_EN_DEV}"],
    "start": [f"start {_EN_DEV}"],
    "stop": [f"(stop|cancel) {_EN_DEV}"],
    "start_charging": ["start charging [the] [{device}]", "charge [the] {device}"],
    "stop_charging": ["stop charging [the] [{device}]"],
    "set": [
        "(set|change|put|turn|make) [the] [{area}] [{device}[']s] {property} [of [the] {device}]"
        " to {value}[ ][{unit}]",
        f"(set|change|put|turn|make) {_EN_DEV} to {{value}}[ ][{{unit}}]",
        "(set|change|put|make) [the] [{area}] {device} {property} to {value}[ ][{unit}]",
    ],
    "query": [
        "what('s| is| are) [the] [{area}] [{device}[']s] {property}[ of [the] {device}][ in [the] {area}]",
        "what('s| is) [the] [{area}] {device} {property}",
        "how much {property} (is|does) [the] [{device}] (left|have|have left|got)[ in [the] {device}]",
        "how much {property} is left[ in [the] {device}]",
        "how much {property} (does|has) [the] {device} (have|got) [left]",
        "(tell me|show me|read) [the] [{area}] [{device}[']s] {property}",
        "how (hot|warm|cold) is [it in] [the] {area}",
    ],
    "is": [
        "(is|are) [the] [{area}] {device}[ in [the] {area}] [still] {state}",
        "(is|are) [the] [{area}] {device}[']s [door[s]] {state}",
    ],
}

_ZH_DEV: Final = "[{area}][的|里的|里]{device}"

ZH: Final[dict[str, list[str]]] = {
    "turn_on": ["(开启|开|启动)[一下]" + _ZH_DEV, "把" + _ZH_DEV + "(开启|开开|开)[一下][吧]"],
    "turn_off": [
        "(关闭|关掉|关上|关)[一下]" + _ZH_DEV,
        "把" + _ZH_DEV + "(关闭|关掉|关上|关了|关)[一下][吧]",
    ],
    "open": ["打开[一下]" + _ZH_DEV, "把" + _ZH_DEV + "打开[一下][吧]"],
    "close": ["(合上|关好)" + _ZH_DEV, "把" + _ZH_DEV + "(合上|关好)[吧]"],
    "lock": [
        "(锁上|锁好|锁)[一下]" + _ZH_DEV,
        "把" + _ZH_DEV + "(锁上|锁好|锁了|锁起来)[吧]",
        "给" + _ZH_DEV + "上锁",
    ],
    "unlock": ["(解锁|开锁)" + _ZH_DEV, "把" + _ZH_DEV + "解锁", "给" + _ZH_DEV + "解锁"],
    "start": ["(开始|启动)" + _ZH_DEV, "[让]" + _ZH_DEV + "(开始工作|开始清扫|开始打扫|开始|工作)[吧]"],
    "stop": ["(停止|停下|暂停)" + _ZH_DEV, "让" + _ZH_DEV + "(停止|停下|停下来)"],
    "start_charging": ["[给][{device}](开始充电|充电)"],
    "stop_charging": ["[给][{device}](停止充电|停充)"],
    "set": [
        "(把|将)[{area}][的]{device}[的]{property}(调到|调成|调至|设为|设成|设置为|设置成|设到|改为|改成|定为){value}[{unit}]",
        "(把|将)[{area}][的]{device}(调到|调成|调至|设为|设成|设置为|设置成|设到|改为|改成|定为){value}[{unit}]",
        "(把|将)[{area}][的]{property}(调到|调成|调至|设为|设成|设置为|设置成|设到|改为|改成|定为){value}[{unit}]",
        "[{area}][的]{device}[的]{property}(调到|调成|设为|设置为|设到|改为|改成){value}[{unit}]",
        "{property}(调到|调成|设为|设置为|设到|改为|改成){value}[{unit}]",
    ],
    "query": [
        "[{area}][的]{device}[的]{property}(是多少|多少|有多少|是几度|几度|怎么样|如何)[了][呢][?|？]",
        "[{area}][的]{property}(是多少|多少|有多少|是几度|几度|怎么样)[了][呢][?|？]",
        "[{area}][的]{device}还(有|剩)多少{property}[了][呢][?|？]",
        "还(有|剩)多少{property}[了][呢][?|？]",
        "{device}[的]{property}还(有|剩)多少[了][呢][?|？]",
        "{area}(多少度|几度|有多热|有多冷)[了][呢][?|？]",
    ],
    "is": [
        "[{area}][的]{device}[是][还]{state}(吗|嘛|么|没有|没|了吗)[?|？]",
        "[{area}][的]{device}{state}[了][没有|吗][?|？]",
    ],
}

# The values a yes/no question asks about; the key is the state the matcher checks.
STATES: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "open": "open",
        "opened": "open",
        "closed": "closed",
        "shut": "closed",
        "on": "on",
        "running": "on",
        "off": "off",
        "locked": "locked",
        "unlocked": "unlocked",
    },
    "zh": {
        "开着": "open",
        "开着的": "open",
        "打开了": "open",
        "开了": "open",
        "开": "open",
        "关着": "closed",
        "关着的": "closed",
        "关了": "closed",
        "关上了": "closed",
        "关好了": "closed",
        "关": "closed",
        "锁着": "locked",
        "锁了": "locked",
        "锁上了": "locked",
        "锁好了": "locked",
        "锁好": "locked",
        "锁上": "locked",
        "没锁": "unlocked",
        "解锁了": "unlocked",
    },
}

# Units a number may carry, and the spec unit each stands for.
UNITS: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "%": "percent",
        "percent": "percent",
        "per cent": "percent",
        "degrees": "celsius",
        "degree": "celsius",
        "degrees celsius": "celsius",
        "°c": "celsius",
        "°": "celsius",
        "c": "celsius",
    },
    "zh": {"%": "percent", "度": "celsius", "摄氏度": "celsius", "°c": "celsius", "°": "celsius"},
}

_LISTS: Final = {"value": {"range": {"from": 0, "to": 100_000, "fractions": "tenths"}}}


@cache
def intents(language: Language) -> Intents:
    """The templates of ``language`` compiled once (the slot lists come with each request)."""
    sentences = EN if language == "en" else ZH
    data: dict[str, Any] = {
        "language": language,
        "intents": {name: {"data": [{"sentences": list(s)}]} for name, s in sentences.items()},
        "lists": _LISTS,
    }
    return Intents.from_dict(data)
