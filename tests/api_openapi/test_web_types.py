"""The web app's wire types are generated from docs/openapi.json, and a drift fails here.

``npm run types`` (openapi-typescript, a dev dependency of the web app) writes
``web/src/wire.ts`` from the committed description; this test runs the same script into a
temporary file and compares. Node is needed (the web app is built with it); without it the
test is skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).parents[2] / "web"
GENERATED = WEB / "src" / "wire.ts"
TOOL = WEB / "node_modules" / ".bin" / "openapi-typescript"


def _types_script() -> list[str]:
    script = str(json.loads((WEB / "package.json").read_text())["scripts"]["types"])
    words = script.split()
    assert words[0] == "openapi-typescript", script
    assert "src/wire.ts" in words, f"the types script must write src/wire.ts: {script}"
    return words


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the web app's types need it")
def test_the_web_apps_wire_types_are_generated_from_the_description(tmp_path: Path) -> None:
    if not TOOL.exists():  # a fresh clone: install the web app's locked dev tools
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    out = tmp_path / "wire.ts"
    words = _types_script()
    args = [str(out) if w == "src/wire.ts" else w for w in words[1:]]
    subprocess.run([str(TOOL), *args], cwd=WEB, check=True, capture_output=True, timeout=120)
    assert GENERATED.exists(), "run: (cd web && npm run types)"
    assert out.read_text() == GENERATED.read_text(), "web/src/wire.ts drifted: run (cd web && npm run types)"


def test_the_web_app_takes_its_wire_types_from_the_generated_file() -> None:
    api = (WEB / "src" / "api.ts").read_text()
    assert 'from "./wire"' in api
    assert "export interface" not in api.split("export class ApiError")[0], "a wire type copied by hand"
