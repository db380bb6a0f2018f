"""``carhome demo`` and ``carhome serve`` hand their checked options to the composition's runtime."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import carhome.compose
from carhome.cli import cli
from carhome.compose.config import Config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "carhome.yaml"


class FakeRuntime(types.ModuleType):
    """Stands in for ``carhome.compose.runtime`` (the lead's module) at its import seam."""

    def __init__(self) -> None:
        super().__init__("carhome.compose.runtime")
        self.calls: list[tuple[str, Any]] = []

    async def run_demo(self, **options: Any) -> None:
        self.calls.append(("demo", options))

    async def run_serve(self, config: Config) -> None:
        self.calls.append(("serve", config))


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> FakeRuntime:
    fake = FakeRuntime()
    monkeypatch.setitem(sys.modules, "carhome.compose.runtime", fake)
    monkeypatch.setattr(carhome.compose, "runtime", fake, raising=False)
    return fake


def test_demo_defaults(runtime: FakeRuntime) -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert runtime.calls == [
        (
            "demo",
            {
                "duration": None,
                "data_dir": Path(".carhome"),
                "speed": 1.0,
                "api_port": 8780,
                "mqtt_port": 18830,
                "mqtt_url": None,
                "store": None,
            },
        )
    ]


def test_demo_options(runtime: FakeRuntime, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--for",
            "600",
            "--data",
            str(tmp_path),
            "--speed",
            "60",
            "--api-port",
            "0",
            "--mqtt-url",
            "mqtt://127.0.0.1:1884",
            "--store",
            "postgresql://carhome:pw@127.0.0.1:5432/carhome",
        ],
    )
    assert result.exit_code == 0, result.output
    [(_, options)] = runtime.calls
    assert options == {
        "duration": 600.0,
        "data_dir": tmp_path,
        "speed": 60.0,
        "api_port": 0,
        "mqtt_port": 18830,
        "mqtt_url": "mqtt://127.0.0.1:1884",
        "store": "postgresql://carhome:pw@127.0.0.1:5432/carhome",
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--mqtt-url", "http://x"], "is not a broker URL"),
        (["--mqtt-url", "mqtt://x:1", "--mqtt-port", "1884"], "not both"),
        (["--speed", "0"], "--speed"),
        (["--api-port", "70000"], "--api-port"),
        (["--store", "mysql://carhome:pw@db/carhome"], "not a store URL; use sqlite:///"),
    ],
)
def test_demo_refuses_bad_options(runtime: FakeRuntime, args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli, ["demo", *args])
    assert result.exit_code == 2
    assert words in result.stderr
    assert runtime.calls == []


def test_without_a_runtime_demo_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "carhome.compose.runtime", None)
    monkeypatch.delattr(carhome.compose, "runtime", raising=False)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 1
    assert "no runtime" in result.stderr


def test_serve_hands_over_the_loaded_config(runtime: FakeRuntime) -> None:
    result = CliRunner().invoke(cli, ["serve", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    [(kind, config)] = runtime.calls
    assert kind == "serve"
    assert isinstance(config, Config)
    assert config.homes[0].id == "yizhuang"


def test_serve_check_only_checks(runtime: FakeRuntime) -> None:
    result = CliRunner().invoke(cli, ["serve", "--config", str(EXAMPLE), "--check"])
    assert result.exit_code == 0
    assert "ok — 1 home(s), 5 device(s), API on 127.0.0.1:8780" in result.output
    assert runtime.calls == []


def test_serve_reports_config_errors_by_file_and_line(runtime: FakeRuntime, tmp_path: Path) -> None:
    path = tmp_path / "carhome.yaml"
    path.write_text("api:\n  port: 8780\n  prot: 1\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: api.prot: unknown key 'prot'" in result.stderr
    assert runtime.calls == []


def test_serve_reads_the_config_path_from_the_environment(runtime: FakeRuntime) -> None:
    result = CliRunner().invoke(cli, ["serve", "--check"], env={"CARHOME_CONFIG": str(EXAMPLE)})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "command", ["devices", "state", "call", "set", "commands", "rejections", "demo", "serve"]
)
def test_every_command_has_help_with_examples(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_top_level_help_shows_how_to_start() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "carhome demo" in result.output
