"""The real zigbee-herdsman-converters package (npm), installed once into a cache outside the
repository, and its device definitions dumped as JSON by ``dump_definitions.js``.

The version is pinned. The cache is ``$CARHOME_NPM_CACHE`` or ``~/.cache/carhome-tests/npm``;
an install goes to a directory of its own first and is moved into place whole, so a broken
one never counts as installed. Without node and npm the test fails (they are needed);
when npm cannot reach its registry the test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Final

import pytest

VERSION: Final = "26.112.0"
PACKAGE: Final = "zigbee-herdsman-converters"
DUMP: Final = Path(__file__).parent / "dump_definitions.js"
# npm's words for a registry it cannot reach (DNS, refused, timed out, reset, offline)
OFFLINE: Final = (
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "ECONNRESET",
    "ENETUNREACH",
    "ENOTCACHED",
)


def cache() -> Path:
    root = Path(os.environ.get("CARHOME_NPM_CACHE") or Path.home() / ".cache" / "carhome-tests" / "npm")
    return root / f"{PACKAGE}-{VERSION}"


def _installed(where: Path) -> bool:
    manifest = where / "node_modules" / PACKAGE / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("version") == VERSION
    except (OSError, ValueError):
        return False


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: the Zigbee mapping coverage test runs Node.js"
            " (apt-get install nodejs npm)"
        )
    return found


def install() -> Path:
    """The directory whose ``node_modules`` holds the pinned package (installed if need be)."""
    target = cache()
    if _installed(target):
        return target
    npm = _tool("npm")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".installing-") as scratch:
        work = Path(scratch)
        (work / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", f"{PACKAGE}@{VERSION}"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            output = done.stdout + done.stderr
            if any(code in output for code in OFFLINE):
                pytest.skip(
                    f"npm cannot reach its registry to install {PACKAGE} {VERSION}: {output.strip()[-300:]}"
                )
            pytest.fail(f"npm install {PACKAGE}@{VERSION} failed:\n{output[-2000:]}")
        if not _installed(target):
            shutil.rmtree(target, ignore_errors=True)
            work.rename(target)
            work.mkdir()  # for the temporary directory's own clean-up
    return target


def definitions(*vendors: str) -> dict[str, Any]:
    """``{"version", "definitions": [{vendor, model, description, exposes, error?}]}``."""
    where = install()
    done = subprocess.run(
        [_tool("node"), str(DUMP), *(arg for vendor in vendors for arg in ("--vendor", vendor))],
        cwd=where,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"dumping the definitions failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    dumped: dict[str, Any] = json.loads(done.stdout)
    return dumped
