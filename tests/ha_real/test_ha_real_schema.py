"""carhome's discovery payloads and schema against Home Assistant's own discovery code.

carhome checks its payloads with a schema written down from Home Assistant 2025.4
(``carhome.connectors.homeassistant.schema``). Here Home Assistant itself judges them:
ha_real_validate.py runs, in Home Assistant's Python, the steps its MQTT discovery takes
on a device payload, and these tests hold carhome to the verdict for every device type —
no error, no option silently dropped, the QoS carhome asks for — and hold the written-down
tables to Home Assistant's: carhome must never accept a class or unit it refuses.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from carhome.connectors.homeassistant import check_config, describe, offered
from carhome.connectors.homeassistant import schema as carhome_schema
from carhome.connectors.homeassistant.discovery import QOS, device_config
from carhome.hub import Device
from carhome.spec import SPECS

HERE = Path(__file__).resolve().parent


OFFERED = "offered"


def _payloads() -> list[dict[str, str]]:
    """Every device type's payload twice: with every entity a spec can give (``describe``),
    and with what the bridge publishes, cut to the access policy (``offered``)."""
    out = []
    for type_, spec in sorted(SPECS.items()):
        for node, entities in (
            (f"carhome_h1_{type_}", describe(spec)),
            (f"{OFFERED}_h1_{type_}", offered(spec)),
        ):
            payload = device_config(
                Device(home="h1", id=type_, type=type_, name=spec.title, room="living_room"),
                spec,
                {e.key: e for e in entities},
                node=node,
                bridge_status="carhome-ha/carhome/status",
            )
            check_config(payload)  # carhome's own schema takes them, or the bridge would not publish
            out.append({"node": node, "payload": payload.decode()})
    return out


@pytest.fixture(scope="module")
def verdict(hass_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Home Assistant's verdict on every device type's payload, and its tables."""
    python = hass_binary.parent / "python"
    done = subprocess.run(
        [str(python), str(HERE / "ha_real_validate.py"), str(tmp_path_factory.mktemp("ha-validate"))],
        input=json.dumps(_payloads()),
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"Home Assistant's discovery code could not be run:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_every_device_type_covers_the_whole_catalog(verdict: dict[str, Any]) -> None:
    assert set(verdict["devices"]) == {f"{n}_h1_{t}" for t in SPECS for n in ("carhome", OFFERED)}
    total = sum(len(d["components"]) for d in verdict["devices"].values())
    assert total == sum(len(describe(spec)) + len(offered(spec)) for spec in SPECS.values())
    platforms = {
        c["platform"]
        for n, d in verdict["devices"].items()
        if n.startswith(OFFERED)
        for c in d["components"].values()
    }
    assert "event" in platforms
    assert "lock" not in platforms


def test_home_assistant_takes_every_payload_whole(verdict: dict[str, Any]) -> None:
    problems = {
        f"{node} {key or ''}": problem
        for node, device in verdict["devices"].items()
        for key, problem in [(None, device["device_error"])]
        + [
            (k, c["error"] or (f"dropped {c['dropped']}" if c["dropped"] else None))
            for k, c in device["components"].items()
        ]
        if problem
    }
    assert problems == {}


def test_home_assistant_uses_the_qos_carhome_asks_for(verdict: dict[str, Any]) -> None:
    qos = {
        (node, key): c["qos"]
        for node, device in verdict["devices"].items()
        for key, c in device["components"].items()
        if c["qos"] != QOS
    }
    assert qos == {}


def test_carhome_accepts_no_sensor_class_unit_or_state_class_home_assistant_refuses(
    verdict: dict[str, Any],
) -> None:
    tables = verdict["tables"]
    wrong: dict[str, object] = {}
    for device_class, units in carhome_schema.SENSOR_UNITS.items():
        if device_class not in tables["sensor_classes"]:
            wrong[device_class] = "no such sensor device class"
            continue
        theirs = set(tables["sensor_units"].get(device_class, ["None"]))
        if extra := {str(u) for u in units} - theirs:
            wrong[f"{device_class} units"] = extra
        their_states = set(tables["sensor_state_classes"].get(device_class, ["measurement"]))
        ours = set(carhome_schema.SENSOR_STATE_CLASSES.get(device_class, {"measurement"}))
        if ours - their_states:
            wrong[f"{device_class} state classes"] = ours - their_states
    assert wrong == {}
    assert set(tables["binary_sensor_classes"]) >= carhome_schema.BINARY_SENSOR_CLASSES
    assert set(tables["cover_classes"]) >= carhome_schema.COVER_CLASSES
