"""The charging controller's problems reach the web by code, and the web has words for every
code in both languages (``web/src/i18n/charts.ts``), so a problem never shows as the hub's
English sentence in the Chinese app, whatever the hour the car happens to be in."""

from __future__ import annotations

import re
from pathlib import Path

from carhome.energy.controller import PROBLEM_CODES

CHARTS = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n" / "charts.ts"
KEY = re.compile(r'^\s*"charts\.problem\.(\w+)":\s*"([^"]+)"', re.MULTILINE)


def catalogs() -> dict[str, dict[str, str]]:
    """The English and the Chinese catalog of charts.ts, each its problem words by code."""
    text = CHARTS.read_text()
    zh_at = text.index("export const zh")
    return {
        "en": dict(KEY.findall(text[:zh_at])),
        "zh": dict(KEY.findall(text[zh_at:])),
    }


def test_every_charging_problem_code_has_words_in_english_and_chinese() -> None:
    found = catalogs()
    missing = [
        f"{lang}: {code}" for lang in ("en", "zh") for code in PROBLEM_CODES if code not in found[lang]
    ]
    latin = [code for code, words in found["zh"].items() if re.search(r"[A-Za-z]{2,}", words)]
    worded = len(PROBLEM_CODES) - len(missing)
    print(f"charging problem codes with words in both languages: {worded} of {len(PROBLEM_CODES)}")
    assert "no_session" in PROBLEM_CODES
    assert missing == []
    assert latin == []
