"""The identities, their rules and the credentials file, without a broker."""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from pathlib import Path

import click.testing
import msgspec
import pytest

from carhome.cli.mqtt import mqtt
from carhome.errors import ConfigError
from carhome.mqtt.credentials import (
    CREDENTIALS_FILE,
    Credentials,
    HomeAssistantAccess,
    filter_covers,
    mosquitto_acl_file,
    mosquitto_hash,
    topic_matches,
    write_mosquitto,
)

DEVICES = [("h1", "car"), ("h1", "purifier"), ("h2", "car")]


@pytest.fixture
def made() -> Credentials:
    return Credentials.make(DEVICES, home_assistant=HomeAssistantAccess())


def test_a_device_writes_only_its_own_reports_and_reads_only_its_commands(made: Credentials) -> None:
    acl = made.acl()
    car = "h1/car"
    for kind in ("state", "event", "ack", "status"):
        assert acl.may_publish(car, f"carhome/h1/car/{kind}")
        assert not acl.may_publish(car, f"carhome/h1/purifier/{kind}")
        assert not acl.may_publish(car, f"carhome/h2/car/{kind}")  # same device id, other home
    for topic in (
        "carhome/h1/car/cmd",  # only the hub commands
        "carhome/h1/purifier/cmd",
        "carhome-hub/carhome-hub/status",
        "carhome/h1/car/ha/state",
        "carhome/h1/purifier/ha/cmd/on/set",
        "homeassistant/device/carhome_h1_car/config",
        "homeassistant/status",
        "carhome/h1/car/state/extra",
        "carhome/+/+/state",
    ):
        assert not acl.may_publish(car, topic), topic
    assert acl.may_subscribe(car, "carhome/h1/car/cmd")
    assert acl.may_receive(car, "carhome/h1/car/cmd")
    # asked to resend by the hub only, and only on its own topic
    assert acl.may_receive(car, "carhome/h1/car/resend")
    assert not acl.may_receive(car, "carhome/h1/purifier/resend")
    assert not acl.may_publish(car, "carhome/h1/car/resend")
    assert not acl.may_publish(car, "carhome/h1/purifier/resend")
    for topic_filter in (
        "#",
        "$SYS/#",
        "carhome/#",
        "carhome/+/+/cmd",
        "carhome/h1/+/cmd",
        "carhome/h1/purifier/cmd",
    ):
        assert not acl.may_subscribe(car, topic_filter), topic_filter
    assert not acl.may_receive(car, "carhome/h1/purifier/cmd")


def test_the_hub_reads_every_report_and_writes_every_command(made: Credentials) -> None:
    acl = made.acl()
    hub = made.hub().username
    for topic_filter in ("carhome/+/+/state", "carhome/h1/+/ack", "carhome/h2/car/status"):
        assert acl.may_subscribe(hub, topic_filter)
    # every report with one subscription, as wide as it likes, of which it receives only
    # the reports; a filter of nothing but what it may not read is refused
    for topic_filter in ("#", "carhome/#", "carhome/+/+/+", "+/+/+/+"):
        assert acl.may_subscribe(hub, topic_filter), topic_filter
    for topic_filter in ("carhome/+/+/cmd", "carhome/h1/car/resend", "carhome-hub/carhome-hub/status"):
        assert not acl.may_subscribe(hub, topic_filter), topic_filter
    for kind in ("cmd", "session", "enroll", "resend", "bogus"):
        assert not acl.may_receive(hub, f"carhome/h1/car/{kind}"), kind
    assert acl.may_receive(hub, "carhome/h1/car/state")
    assert acl.may_publish(hub, "carhome/h2/car/cmd")
    assert acl.may_publish(hub, "carhome/h2/car/resend")
    assert acl.may_publish(hub, "carhome-hub/carhome-hub/status")
    assert not acl.may_publish(hub, "carhome/h2/car/state")  # the hub cannot fake a report
    assert not acl.may_publish(hub, "carhome-hub/another-hub/status")


def test_home_assistant_and_its_bridge(made: Credentials) -> None:
    acl = made.acl()
    ha, bridge = made.home_assistant().username, made.bridge().username
    assert acl.may_subscribe(ha, "homeassistant/#")
    assert acl.may_publish(ha, "carhome/h1/car/ha/cmd/lock/set")
    assert not acl.may_publish(ha, "carhome/h1/car/cmd")  # only through the bridge and access checks
    assert not acl.may_publish(ha, "homeassistant/device/x/config")
    assert acl.may_publish(bridge, "homeassistant/device/carhome_h1_car/config")
    assert acl.may_subscribe(bridge, "carhome/+/+/ha/cmd/+/+")
    assert not acl.may_publish(bridge, "carhome/h1/car/cmd")
    assert not acl.may_subscribe(bridge, "carhome/+/+/state")
    assert not acl.may_publish(None, "carhome/h1/car/state")  # anonymous: nothing
    assert not acl.may_subscribe("nobody", "carhome/h1/car/cmd")


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("carhome/+/+/state", "carhome/h1/car/state", True),
        ("carhome/+/+/state", "carhome/h1/car/ha/state", False),
        ("#", "carhome/h1/car/cmd", True),
        ("#", "$SYS/broker/uptime", False),
        ("+/broker/uptime", "$SYS/broker/uptime", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("a/#", "a", True),
        ("a/+", "a", False),
    ],
)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("rule", "topic_filter", "expected"),
    [
        ("carhome/h1/car/cmd", "carhome/h1/car/cmd", True),
        ("carhome/h1/car/cmd", "carhome/+/car/cmd", False),
        ("carhome/h1/car/cmd", "#", False),
        ("carhome/+/+/state", "carhome/h1/+/state", True),
        ("carhome/+/+/state", "carhome/h1/#", False),
        ("homeassistant/#", "homeassistant/device/+/config", True),
        ("#", "$SYS/#", False),
        ("#", "#", True),
    ],
)
def test_a_subscription_must_be_covered_by_a_rule(rule: str, topic_filter: str, expected: bool) -> None:
    assert filter_covers(rule, topic_filter) is expected


def test_passwords_are_strong_unique_and_never_shown(made: Credentials) -> None:
    passwords = [i.password for i in made.identities]
    assert len(set(passwords)) == len(passwords) == 6
    assert all(len(p) >= 40 for p in passwords)  # 32 random bytes, URL-safe base64
    for identity in made.identities:
        assert identity.password not in repr(identity)
    assert made.check("h1/car", made.device("h1", "car").password)
    assert not made.check("h1/car", made.device("h1", "purifier").password)
    assert not made.check("h9/car", made.device("h1", "car").password)
    assert not made.check(None, None)


def test_the_file_is_private_and_keeps_passwords(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "data" / CREDENTIALS_FILE
    caplog.set_level(logging.DEBUG)
    first = Credentials.ensure(path, DEVICES[:2])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Credentials.ensure(path, [*DEVICES[:1], ("h1", "lock")])
    assert again.device("h1", "car").password == first.device("h1", "car").password
    assert again.hub().password == first.hub().password
    assert again.device("h1", "lock").password not in {i.password for i in first.identities}
    assert again.get("h1/purifier") is None  # a device removed loses its identity
    assert Credentials.load(path).identities == again.identities
    text = caplog.text + repr(again)
    assert all(i.password not in text for i in again.identities)
    assert [p.name for p in path.parent.iterdir()] == [CREDENTIALS_FILE]  # no temp file left


def test_a_file_opened_to_others_is_closed_again(tmp_path: Path) -> None:
    path = tmp_path / CREDENTIALS_FILE
    Credentials.ensure(path, DEVICES)
    path.chmod(0o644)
    Credentials.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "not JSON"),
        (b'{"version": 9, "identities": []}', "format 9"),
        (
            b'{"version": 1, "identities": [{"role": "device", "username": "h1/+",'
            b' "password": "x", "home": "h1", "device": "+"}]}',
            "device id '\\+' is not valid",
        ),
        (
            b'{"version": 1, "identities": [{"role": "device", "username": "h1/car",'
            b' "password": "x", "home": "h1", "device": "lock"}]}',
            "username must be 'h1/lock'",
        ),
    ],
)
def test_a_broken_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / CREDENTIALS_FILE
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=message) as caught:
        Credentials.load(path)
    assert str(path) in str(caught.value)


def test_mosquitto_hash_is_pbkdf2_sha512_in_the_7_format() -> None:
    hashed = mosquitto_hash("secret", salt=b"0123456789ab")
    _, seven, rounds, salt, digest = hashed.split("$")
    assert (seven, rounds) == ("7", "101")
    assert base64.b64decode(salt) == b"0123456789ab"
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"secret", b"0123456789ab", 101)


def test_mosquitto_files(made: Credentials, tmp_path: Path) -> None:
    files = write_mosquitto(tmp_path / "m", made, port=1884, host="127.0.0.1")
    conf = files.conf.read_text()
    assert "allow_anonymous false" in conf
    assert f"password_file {files.password_file}" in conf
    assert "listener 1884 127.0.0.1" in conf
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = [line.split(":", 1)[0] for line in files.password_file.read_text().splitlines()]
    assert sorted(users) == sorted(i.username for i in made.identities)
    assert made.device("h1", "car").password not in files.password_file.read_text()
    acl = mosquitto_acl_file(made.acl())
    block = acl.split("user h1/car\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "topic read carhome/h1/car/cmd" in block
    assert "topic write carhome/h1/car/state" in block
    assert all("purifier" not in line and "+" not in line for line in block)


def test_cli_writes_the_credentials_and_mosquitto_files(tmp_path: Path) -> None:
    config = tmp_path / "carhome.yaml"
    config.write_text(
        "hub: {data_dir: data}\n"
        "homes:\n"
        "  - id: h1\n    name: Home\n    lat: 39.8\n    lon: 116.5\n"
        "    devices:\n      - {id: car, type: car}\n      - {id: lock, type: door_lock}\n"
    )
    runner = click.testing.CliRunner()
    result = runner.invoke(mqtt, ["credentials", "--config", str(config), "--mosquitto", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "h1/car\tdevice" in result.output
    assert "carhome-hub\thub" in result.output
    assert "mqtt: {url: mqtt://HOST:1883, username: carhome-hub, password: …}" in result.output
    assert "homeassistant:" not in result.output  # none configured: no bridge login
    saved = Credentials.load(tmp_path / "data" / CREDENTIALS_FILE)
    assert all(i.password not in result.output for i in saved.identities)
    assert "user h1/lock" in (tmp_path / "m" / "acl_file").read_text()
    shown = runner.invoke(mqtt, ["credentials", "--config", str(config), "--show", "h1/car"])
    assert shown.exit_code == 0
    assert f"password: {saved.device('h1', 'car').password}" in shown.output
    unknown = runner.invoke(mqtt, ["credentials", "--config", str(config), "--show", "h1/nope"])
    assert unknown.exit_code == 1
    assert "no identity 'h1/nope'" in unknown.output
    config.write_text(config.read_text() + "homeassistant: {member: owner}\n")
    bridged = runner.invoke(
        mqtt, ["credentials", "--config", str(config), "--mosquitto", str(tmp_path / "m")]
    )
    assert "homeassistant: {…, username: carhome-ha-carhome, password: …}" in bridged.output


def test_identities_round_trip_as_tagged_json(made: Credentials) -> None:
    raw = msgspec.json.encode(made.identities[0])
    assert b'"role":"hub"' in raw
