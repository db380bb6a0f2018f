"""The address file a running hub writes and the CLI reads."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from carhome.api import address_file, clear_hub_address, read_hub_address, write_hub_address


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path


def test_write_then_read(state_home: Path) -> None:
    path = write_hub_address("http://127.0.0.1:9999")
    assert path == state_home / "carhome" / "hub.json"
    assert read_hub_address() == "http://127.0.0.1:9999"


def test_defaults_to_local_state_without_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert address_file() == tmp_path / ".local" / "state" / "carhome" / "hub.json"


def test_nothing_announced_is_none() -> None:
    assert read_hub_address() is None


def test_a_garbled_file_is_ignored() -> None:
    address_file().parent.mkdir(parents=True)
    address_file().write_text("{not json")
    assert read_hub_address() is None


def test_a_file_left_by_a_dead_hub_is_ignored() -> None:
    address_file().parent.mkdir(parents=True)
    # Beyond the largest pid Linux hands out (2**22), so no process has it.
    address_file().write_bytes(msgspec.json.encode({"url": "http://127.0.0.1:1", "pid": 2**30}))
    assert read_hub_address() is None


def test_clear_removes_only_our_own_announcement() -> None:
    write_hub_address("http://127.0.0.1:1111")
    clear_hub_address("http://127.0.0.1:2222")
    assert read_hub_address() == "http://127.0.0.1:1111"
    clear_hub_address("http://127.0.0.1:1111")
    assert not address_file().exists()


def test_clear_leaves_a_newer_hub_in_another_process_alone() -> None:
    address_file().parent.mkdir(parents=True)
    address_file().write_bytes(msgspec.json.encode({"url": "http://127.0.0.1:1", "pid": os.getppid()}))
    clear_hub_address("http://127.0.0.1:1")
    assert read_hub_address() == "http://127.0.0.1:1"
