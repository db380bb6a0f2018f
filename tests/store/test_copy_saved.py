"""``carhome store copy`` takes the automations saved through the API, their switches and the
automation delegate keys along: the files of a SQLite hub's data directory
(``automations/saved/*.yaml``, ``automations/enabled.json``, ``delegates/``) go into the
PostgreSQL target's tables and back, every text byte for byte, every switch, key and pin
equal, each counted on both sides; a target that holds any is refused unless forced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carhome.access.delegates import Delegation, FileDelegateKeys, Pin
from carhome.automations.saved import SavedFiles
from carhome.cli import exits
from carhome.compose.copy_saved import source_saved
from carhome.hub import Home
from carhome.signing import KeyPair
from carhome.store import SqliteStore, open_store

from .copy_rig import assert_told, carhome, there_and_back


def _text(automation_id: str, home: str | None, value: int) -> str:
    head = f"home: {home}\n" if home is not None else ""
    return (
        f"{head}automations:\n"
        f"  # {automation_id}: the light comes on — at {value}, as written (ünïcode kept)\n"
        f"  - id: {automation_id}\n"
        "    triggers: [{trigger: time, at: '07:00'}]\n"
        f"    actions:\n      - {{action: set, device: light, property: brightness, value: {value}}}\n"
    )


TEXTS = {
    "morning_h1": _text("morning_h1", "h1", 7),
    "morning_h2": _text("morning_h2", "h2", 5),
    "anywhere": _text("anywhere", None, 3),
}
SWITCHES = {"morning_h1": True, "morning_h2": False, "from_a_file": False}


async def _fill(data: Path) -> list[Delegation]:
    """A stopped SQLite hub in ``data`` with saved automations, switches and delegate keys."""
    async with SqliteStore(data / "carhome.db") as store:
        for home in ("h1", "h2"):
            await store.save_home(Home(id=home, name=home, lat=39.8, lon=116.5))
    saved = SavedFiles(data)
    await saved.read()
    for automation_id, text in TEXTS.items():
        await saved.save(automation_id, None, text)
    for automation_id, enabled in SWITCHES.items():
        await saved.switch(automation_id, None, enabled)
    keys = FileDelegateKeys(data / "delegates")
    made = [
        Delegation(
            "h1", "garage_door", KeyPair.generate().to_pem(), Pin(b"\x04" + b"g" * 64, "delegate:garage")
        ),
        Delegation(
            "h1", "wallbox", KeyPair.generate().to_pem(), Pin(b"\x04" + b"w" * 64, "delegate:charging")
        ),
        Delegation("h2", "garage_door", KeyPair.generate().to_pem(), None),  # made, not yet enrolled
    ]
    for delegation in made:
        await keys.put(delegation)
    return made


async def _kept(url: str) -> tuple[dict[str, str], dict[str, bool], list[Delegation]]:
    """The saved texts by id, the switches and the delegate keys kept beside the store at ``url``."""
    async with open_store(url) as store:
        saved = await source_saved(store)
        assert saved.automations is not None
        assert saved.delegates is not None
        kept = await saved.automations.read()
        texts = {name.rsplit("/", 1)[-1].removesuffix(".yaml"): text for name, text in kept.texts}
        return texts, kept.switches, await saved.delegates.entries()


@pytest.mark.postgres
async def test_copy_takes_saved_automations_switches_and_delegate_keys_to_postgresql_and_back(
    tmp_path: Path, postgres_url: str
) -> None:
    made = await _fill(tmp_path)
    source = f"sqlite:///{tmp_path / 'carhome.db'}"
    there, back, back_url = await there_and_back(source, postgres_url, tmp_path / "back")

    on_postgres, returned = await _kept(postgres_url), await _kept(back_url)
    files = {i: (tmp_path / "back" / "automations" / "saved" / f"{i}.yaml").read_bytes() for i in TEXTS}
    same_bytes = sum(1 for i, text in TEXTS.items() if files[i] == text.encode())
    print(
        f"saved automations copied sqlite → postgresql → sqlite: {same_bytes} of {len(TEXTS)} texts"
        f" byte-equal, switches equal: {returned[1] == SWITCHES},"
        f" delegate keys equal: {returned[2] == made}"
    )
    assert on_postgres == (TEXTS, SWITCHES, made)
    assert returned == (TEXTS, SWITCHES, made)
    assert same_bytes == len(TEXTS)
    pems = {(d.home, d.device): (tmp_path / "back" / "delegates" / d.home / f"{d.device}.pem") for d in made}
    assert all(path.read_bytes() == d.pem for d, path in zip(made, pems.values(), strict=True))
    assert_told(
        (
            "  saved automations: 3 in the source, 3 in the target",
            "  automation switches: 3 in the source, 3 in the target",
            "  delegate keys: 3 in the source, 3 in the target",
        ),
        there,
        back,
    )


@pytest.mark.postgres
async def test_copy_refuses_a_target_holding_saved_automations_or_keys_unless_forced(
    tmp_path: Path, postgres_url: str
) -> None:
    await _fill(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with SqliteStore(elsewhere / "carhome.db"):
        pass
    await FileDelegateKeys(elsewhere / "delegates").put(
        Delegation("h9", "gate", KeyPair.generate().to_pem(), None)
    )
    first = await carhome(
        "store", "copy", "--from", f"sqlite:///{elsewhere / 'carhome.db'}", "--to", postgres_url
    )
    assert first.exit_code == 0, first.output

    source = f"sqlite:///{tmp_path / 'carhome.db'}"
    refused = await carhome("store", "copy", "--from", source, "--to", postgres_url)
    assert refused.exit_code == exits.HUB, refused.output
    assert "is not empty (1 delegate keys); copy into an empty database, or give --force" in refused.output
    async with open_store(postgres_url) as store:
        assert await store.homes() == []  # nothing written
    assert (await _kept(postgres_url))[0] == {}

    forced = await carhome("store", "copy", "--from", source, "--to", postgres_url, "--force")
    assert forced.exit_code == 0, forced.output
    assert "  delegate keys: 3 in the source, 4 in the target" in forced.output
    assert (await _kept(postgres_url))[0] == TEXTS


async def test_a_source_without_saved_automations_or_keys_makes_none_at_the_target(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "carhome.db") as store:
        await store.save_home(Home(id="h1", name="Home", lat=39.8, lon=116.5))
    (tmp_path / "copy").mkdir()
    done = await carhome(
        "store", "copy", "--from", f"sqlite:///{tmp_path / 'carhome.db'}",
        "--to", f"sqlite:///{tmp_path / 'copy' / 'carhome.db'}",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "saved automations" not in done.output
    assert not (tmp_path / "copy" / "automations").exists()
    assert not (tmp_path / "copy" / "delegates").exists()
