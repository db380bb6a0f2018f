"""Answers in the request's language: a clear sentence for each outcome.

Pure functions of an ``Understanding``, the live values asked about and a command's
fate; ``carhome.say.service`` calls them. Device names come from the vocabulary
(``Vocabulary.display``), property words and units from ``carhome.say.lexicon``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carhome.say.lexicon import UNIT_WORDS, VALUE_WORDS, Language, property_words, readable
from carhome.say.matcher import Operation, Understanding
from carhome.say.vocabulary import Vocabulary

_ZH_ACTIONS = {
    "turn_on": "打开",
    "turn_off": "关闭",
    "open": "打开",
    "close": "关闭",
    "lock": "锁上",
    "unlock": "解锁",
    "start": "启动",
    "stop": "停止",
    "cancel": "取消",
    "pause": "暂停",
    "toggle": "切换",
    "start_charging": "开始充电：",
    "stop_charging": "停止充电：",
    "climate_on": "打开空调：",
    "climate_off": "关闭空调：",
    "return_home": "让其回充：",
    "open_trunk": "打开后备箱：",
    "close_trunk": "关闭后备箱：",
    "ring": "响铃：",
}


def prop_word(prop: str, language: Language) -> str:
    words = property_words(prop, language)
    return words[0] if words else readable(prop)


def value_text(value: Any, unit: str | None, language: Language) -> str:
    """A value with its unit as people say it (metres of range in km, floats rounded)."""
    if isinstance(value, bool):
        yes = {"en": ("yes", "no"), "zh": ("是", "否")}[language]
        return yes[0] if value else yes[1]
    if isinstance(value, (int, float)):
        if unit == "m" and abs(value) >= 1000:
            value, unit = value / 1000, "km"
        number = f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        words = UNIT_WORDS.get(unit or "")
        suffix = words[language] if words else (f" {unit}" if unit else "")
        return number + suffix
    return VALUE_WORDS.get(str(value), {}).get(language, str(value))


def _phrase(op: Operation, device: str, prop_unit: str | None, language: Language) -> str:
    """What the command does to ``device``: "turn on the X" / "打开X"."""
    if op.kind == "set":
        value = value_text(op.args["value"], prop_unit, language)
        if op.target == "on":
            return (
                f"turn {'on' if op.args['value'] else 'off'} the {device}"
                if language == "en"
                else f"{'打开' if op.args['value'] else '关闭'}{device}"
            )
        word = prop_word(op.target, language)
        return (
            f"set the {device}'s {word} to {value}" if language == "en" else f"把{device}的{word}设为{value}"
        )
    if language == "en":
        return f"{readable(op.target)} the {device}"
    return f"{_ZH_ACTIONS.get(op.target, op.target + '：')}{device}"


def command(
    op: Operation, device: str, unit: str | None, *, status: str, error: str | None, language: Language
) -> str:
    """The answer to a command that was accepted, as far as it got."""
    what = _phrase(op, device, unit, language)
    if language == "en":
        return {
            "acked": f"Done: {what}.",
            "failed": f"Could not {what}: {error or 'the device refused'}.",
            "expired": f"The {device} did not answer in time; the command expired and was not executed.",
        }.get(status, f"Sent: {what}.")
    return {
        "acked": f"好的，已{what}。",
        "failed": f"没能{what}：{error or '设备拒绝了'}。",
        "expired": f"{device}没有及时响应，命令已过期，未执行。",
    }.get(status, f"已发送：{what}。")


def refused(op: Operation, device: str, unit: str | None, reason: str, language: Language) -> str:
    """The gatekeeper said no: why, and nothing was executed."""
    what = _phrase(op, device, unit, language)
    if reason.startswith("unsigned"):
        if language == "en":
            return (
                f"Not done by the hub: the command to {what} needs your own signature (safety-critical),"
                " which the hub cannot make. The app and the CLI sign it with your key"
                " where it is enrolled on the device."
            )
        return (
            f"中枢未执行：{what}需要你自己的签名（安全关键命令），中枢不能代签。"
            "应用和命令行会用你在该设备上登记的密钥签名发送。"
        )
    if language == "en":
        return f"Not done: you may not {what} ({reason})."
    return f"未执行：你无权{what}（{reason}）。"


def invalid(op: Operation, device: str, unit: str | None, reason: str, language: Language) -> str:
    what = _phrase(op, device, unit, language)
    if language == "en":
        return f"Not done: cannot {what}: {reason}."
    return f"未执行：不能{what}：{reason}。"


def ambiguous(u: Understanding, names: Sequence[str]) -> str:
    if u.language == "en":
        listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        return f"Which one do you mean: {listed}? Nothing was done."
    listed = "、".join(names[:-1]) + f"还是{names[-1]}" if len(names) > 1 else names[0]
    return f"你指的是哪一个：{listed}？未执行任何操作。"


def not_understood(u: Understanding, text: str, vocab: Vocabulary) -> str:
    """What was not understood, and an example made from this home's own devices."""
    lang = u.language
    names = [vocab.display(d) for d in u.devices]
    if u.reason == "unknown_device":
        return f"There is no {u.detail} in this home." if lang == "en" else f"家里没有{u.detail}。"
    if u.reason == "cannot" and names:
        listed = ", ".join(names) if lang == "en" else "、".join(names)
        return f"The {listed} cannot do that." if lang == "en" else f"{listed}不支持这个操作。"
    if u.reason == "invalid_value" and names and u.prop:
        word = prop_word(u.prop, lang)
        if lang == "en":
            return f"Not done: the {names[0]}'s {word} takes {u.detail}."
        return f"未执行：{names[0]}的{word}取值范围是 {u.detail}。"
    example = _example(vocab)
    if lang == "en":
        return (
            f"Sorry, I did not understand “{text}”. Try for example “{example}”"
            " or “how much charge is left?”."
        )
    return f"抱歉，没听懂“{text}”。可以试试“{example}”或“车还有多少电”。"


def _example(vocab: Vocabulary) -> str:
    for thing in sorted(vocab.things.values(), key=lambda t: t.id):
        if "turn_on" in thing.spec.actions:
            name = vocab.display(thing.id)
            return f"turn on the {name.lower()}" if vocab.language == "en" else f"打开{name}"
    return "what is the temperature" if vocab.language == "en" else "温度是多少"


def value_answer(device: str, prop: str, value: Any, unit: str | None, language: Language) -> str:
    word = prop_word(prop, language)
    if value is None:
        if language == "en":
            return f"The {device} has not reported its {word} yet."
        return f"{device}还没有报告{word}。"
    shown = value_text(value, unit, language)
    return f"The {device}'s {word} is {shown}." if language == "en" else f"{device}的{word}是{shown}。"


def state_of(state: str, values: Mapping[str, Any]) -> str | None:
    """The state (``open``, ``closed``, ``on`` …) the reported ``values`` show, or None."""
    known = {p: v for p, v in values.items() if v is not None}
    if not known:
        return None
    strings = [v for v in known.values() if isinstance(v, str)]
    if strings:
        return strings[0]  # an enumerated state ("open", "closing" …) says it itself
    flags = [bool(v) for v in known.values()]
    if state in ("open", "closed"):
        return "open" if any(flags) else "closed"
    if state in ("locked", "unlocked"):
        return "locked" if all(flags) else "unlocked"
    return "on" if any(flags) else "off"


def state_answer(device: str, asked: str, actual: str | None, language: Language) -> str:
    if actual is None:
        return f"The {device} has not reported it yet." if language == "en" else f"{device}还没有报告状态。"
    word = VALUE_WORDS.get(actual, {}).get(language, actual)
    yes = actual == asked
    if language == "en":
        return f"{'Yes' if yes else 'No'}, the {device} is {word}."
    return f"{'是的' if yes else '不是'}，{device}{word}。"
