"""The generic mapping over the real device definitions of zigbee-herdsman-converters (every
Xiaomi/Aqara and IKEA one): how many map fully, partly, not at all — printed as one line —
and that what is left out is only what carhome cannot hold by design."""

from __future__ import annotations

import json
from collections import Counter

import msgspec
from converters import VERSION, definitions

from carhome.connectors.zigbee2mqtt import Coverage, Expose, map_device

GROUPS = {"Xiaomi/Aqara": ("Xiaomi", "Aqara"), "IKEA": ("IKEA",)}
# What carhome leaves out on purpose: values it has no format for, and writes it keeps to
# lock/unlock. Anything else left out would be a gap in the mapper.
KNOWN_LIMITS = {
    "named presets": "named presets",
    "lists": "a list: a carhome property holds one value",
    "lock settings": "not writable on a lock",
    "garage door": "garage door opener",
}


def test_mapping_coverage_over_the_real_converter_definitions() -> None:
    dumped = definitions(*(v for vendors in GROUPS.values() for v in vendors))
    assert dumped["version"] == VERSION
    decode = msgspec.json.Decoder(Expose).decode
    counts: dict[str, Counter[Coverage]] = {group: Counter() for group in GROUPS}
    held = total = 0
    limits: Counter[str] = Counter()
    unexplained: list[str] = []
    unresolved = [d["model"] for d in dumped["definitions"] if "error" in d]
    for definition in dumped["definitions"]:
        group = next(g for g, vendors in GROUPS.items() if definition["vendor"] in vendors)
        exposes = [decode(json.dumps(e)) for e in definition["exposes"]]
        device = map_device(exposes, model=definition["model"], vendor=definition["vendor"])
        counts[group][device.coverage if "error" not in definition else Coverage.NONE] += 1
        for note in device.notes:
            total += 1
            held += note.coverage is not Coverage.NONE
            if note.coverage is Coverage.FULL:
                continue
            limit = next((k for k, words in KNOWN_LIMITS.items() if words in note.reason), None)
            if limit is None:
                unexplained.append(f"{definition['model']} {note.what}: {note.reason}")
            else:
                limits[limit] += 1
    parts = [
        f"{group} {sum(c.values())} definitions: full {c[Coverage.FULL]}, partly {c[Coverage.PARTLY]},"
        f" none {c[Coverage.NONE]}"
        for group, c in counts.items()
    ]
    left = ", ".join(f"{k} {n}" for k, n in limits.most_common())
    print(
        f"zigbee mapping over zigbee-herdsman-converters {VERSION}: {'; '.join(parts)}"
        f" (values held: {held} of {total}; left out: {left or 'nothing'})"
    )
    assert unresolved == []
    assert unexplained == []
    aqara, ikea = counts["Xiaomi/Aqara"], counts["IKEA"]
    # enough definitions that the figures mean something
    assert (sum(aqara.values()), sum(ikea.values())) >= (150, 80)
    # every definition brings a device carhome can use
    assert aqara[Coverage.NONE] == ikea[Coverage.NONE] == 0
    # Xiaomi/Aqara's sensors, switches and plugs map whole; IKEA lights lose only the named
    # start-up presets of their brightness and colour temperature ("previous")
    assert aqara[Coverage.FULL] >= 0.85 * sum(aqara.values())
    assert ikea[Coverage.FULL] >= 0.25 * sum(ikea.values())
    assert held >= 0.95 * total
