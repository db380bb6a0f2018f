"""The web app's wire types are generated from docs/openapi.json, and the app types against them.

``npm run types`` (openapi-typescript, a dev dependency of the web app) writes ``web/src/wire.ts``
from the committed description; the file is not kept in git, and ``npm run build`` and ``npm run
check`` write it first, so the app is always typed against the description the hub serves (a test
in tests/api_openapi holds docs/openapi.json to the hub). Node is needed (the web app is built with
it); without it the tests that run it are skipped, saying so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WEB = ROOT / "web"
DESCRIPTION = ROOT / "docs" / "openapi.json"
GENERATED = WEB / "src" / "wire.ts"
TOOL = WEB / "node_modules" / ".bin" / "openapi-typescript"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: the web app's types need it"
)

# An interface whose fields all belong to one schema of the description, but which is not a
# wire shape: the fields of a command a signature binds (carhome.signing's transcript).
NOT_WIRE = {"CommandFields"}


def _scripts() -> dict[str, str]:
    return dict(json.loads((WEB / "package.json").read_text())["scripts"])


def test_the_types_script_writes_the_wire_file_from_the_committed_description() -> None:
    words = _scripts()["types"].split()
    assert words[0] == "openapi-typescript", words
    assert (WEB / words[1]).resolve() == DESCRIPTION, f"it must read docs/openapi.json: {words}"
    assert words[words.index("--output") + 1] == "src/wire.ts", f"it must write src/wire.ts: {words}"


@pytest.mark.parametrize("script", ["build", "check", "dev"])
def test_the_web_app_writes_its_wire_types_before_it_builds(script: str) -> None:
    assert _scripts()[script].startswith("npm run types && "), _scripts()[script]


def test_the_generated_file_is_not_kept_in_git() -> None:
    ignored = (WEB / ".gitignore").read_text().splitlines()
    assert "/src/wire.ts" in ignored, "web/.gitignore must leave out the generated src/wire.ts"


@needs_node
def test_the_web_app_types_against_the_committed_description() -> None:
    if not TOOL.exists():  # a fresh clone: install the web app's locked dev tools
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    check = ["npm", "run", "check"]
    done = subprocess.run(check, cwd=WEB, capture_output=True, text=True, timeout=300, check=False)
    said = done.stdout + done.stderr
    assert done.returncode == 0, f"the web app does not type against docs/openapi.json:\n{said}"
    assert "export interface components" in GENERATED.read_text()


def test_the_web_app_takes_its_wire_types_from_the_generated_file() -> None:
    api = (WEB / "src" / "api.ts").read_text()
    assert 'from "./wire"' in api
    assert "export interface" not in api.split("export class ApiError")[0], "a wire type copied by hand"


def test_no_module_of_the_web_app_copies_a_wire_shape_by_hand() -> None:
    """An interface of three or more fields, all of them properties of one schema of the
    description, is that schema copied by hand: it should be the generated type (from api.ts)."""
    schemas = json.loads(DESCRIPTION.read_text())["components"]["schemas"]
    properties = {name: set(schema.get("properties", {})) for name, schema in schemas.items()}
    interface = re.compile(r"^(?:export )?interface (\w+)(?: extends [\w, ]+)? \{\n(.*?)^\}", re.M | re.S)
    copies = []
    for module in sorted((WEB / "src").rglob("*.ts*")):
        if module == GENERATED:
            continue
        for found in interface.finditer(module.read_text()):
            fields = set(re.findall(r"^  (?:readonly )?(\w+)\??:", found.group(2), re.M))
            same = [name for name, props in properties.items() if len(fields) >= 3 and fields <= props]
            if same and found.group(1) not in NOT_WIRE:
                copies.append(f"{module.relative_to(WEB)}: {found.group(1)} is {same}")
    assert copies == [], "copied by hand (alias the generated types in api.ts):\n" + "\n".join(copies)
