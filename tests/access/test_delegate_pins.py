"""The hub's delegate pins are written whole, for its owner's eyes only.

A pin is what the hub remembers of a delegation (the device's key, the delegate's domains);
the signer reads it before every delegated command. It is replaced, never rewritten in
place: a reader sees the old pin or the new one, never a torn or empty file.
"""

from __future__ import annotations

import stat
from pathlib import Path

import msgspec

from carhome.access.delegates import Delegates, FileDelegateKeys, Pin
from carhome.signing import KeyPair
from carhome.signing.relay import KeyAnswer, KeyOp
from carhome.testing import FakeClock


class NoDevice:
    """A relay with no device behind it: pins are written without asking any."""

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float = 1.0) -> KeyAnswer:
        raise AssertionError("writing a pin asks no device")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_pin_is_private_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    delegates = Delegates(FileDelegateKeys(tmp_path / "delegates"), NoDevice(), FakeClock())
    point = KeyPair.generate().public.point
    await delegates.pin("h1", "garage", point, "delegate:garage")

    pin = tmp_path / "delegates" / "h1" / "garage.pin"
    assert msgspec.json.decode(pin.read_bytes(), type=Pin) == Pin(point, "delegate:garage")
    assert _mode(pin) == 0o600
    assert _mode(pin.parent) == 0o700
    assert sorted(p.name for p in pin.parent.iterdir()) == ["garage.pin"]
    assert await delegates.covers("h1", "garage", "garage")
    assert not await delegates.covers("h1", "garage", "home_lock")


async def test_a_new_pin_replaces_the_old_one_whole(tmp_path: Path) -> None:
    delegates = Delegates(FileDelegateKeys(tmp_path / "delegates"), NoDevice(), FakeClock())
    old, new = KeyPair.generate().public.point, KeyPair.generate().public.point
    await delegates.pin("h1", "garage", old, "delegate:garage")
    pin = tmp_path / "delegates" / "h1" / "garage.pin"
    pin.chmod(0o644)  # as an older hub may have left it

    with pin.open("rb") as reader:  # a signer reading the pin as an owner delegates again
        await delegates.pin("h1", "garage", new, "delegate:charging+garage")
        seen = reader.read()

    assert msgspec.json.decode(seen, type=Pin) == Pin(old, "delegate:garage")
    assert msgspec.json.decode(pin.read_bytes(), type=Pin) == Pin(new, "delegate:charging+garage")
    assert _mode(pin) == 0o600
    assert sorted(p.name for p in pin.parent.iterdir()) == ["garage.pin"]
