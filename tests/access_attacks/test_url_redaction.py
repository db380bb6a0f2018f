"""A broker URL's password is never printed or logged: the demo given ``--mqtt-url`` with
credentials, and ``carhome serve --check`` on a file with them, show it as ``***``.

The demo runs as the ``carhome`` command in a process of its own, against a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from carhome.cli.main import cli
from carhome.compose.config import redacted
from mqtt.conftest import Mosquitto, free_port, require_mosquitto

SECRET = "s3cret-Broker-pw"


@pytest.mark.mosquitto
async def test_the_demo_never_prints_the_brokers_password(tmp_path: Path) -> None:
    require_mosquitto()
    async with Mosquitto(free_port(), tmp_path) as broker:
        url = f"mqtt://hub:{SECRET}@127.0.0.1:{broker.port}"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from carhome.cli.main import main; main()",
            "demo",
            "--for",
            "1",
            "--data",
            str(tmp_path / "demo"),
            "--api-port",
            "0",
            "--mqtt-url",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        )
        async with asyncio.timeout(90):
            out, err = await process.communicate()
    text = (out + err).decode(errors="replace")
    assert process.returncode == 0, text
    shown = f"mqtt://hub:***@127.0.0.1:{broker.port}"
    print(f"\ndemo with --mqtt-url: password printed {text.count(SECRET)} times; shown as {shown!r}")
    assert shown in text
    assert SECRET not in text


def test_serve_check_never_prints_the_brokers_password(tmp_path: Path) -> None:
    config = tmp_path / "carhome.yaml"
    config.write_text(f"mqtt:\n  url: mqtt://hub:{SECRET}@broker.example:1883\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(config), "--check"])
    assert result.exit_code == 0, result.output
    assert "mqtt://hub:***@broker.example:1883" in result.output
    assert SECRET not in result.output
    bad = CliRunner().invoke(cli, ["demo", "--mqtt-url", f"mqtt://hub:{SECRET}@broker.example:99999"])
    assert bad.exit_code != 0
    assert SECRET not in bad.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"mqtt://hub:{SECRET}@127.0.0.1:1883", "mqtt://hub:***@127.0.0.1:1883"),
        (f"mqtts://h%40b:{SECRET}@[::1]:8883", "mqtts://h%40b:***@[::1]:8883"),
        ("mqtt://hub@127.0.0.1:1883", "mqtt://hub@127.0.0.1:1883"),
        ("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"),
        (f"mqtt://hub:{SECRET}@host:notaport", "mqtt://hub:***@host:notaport"),
    ],
)
def test_redacted_hides_only_the_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
