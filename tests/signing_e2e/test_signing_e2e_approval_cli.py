"""``carhome keys pending`` / ``approve`` / ``enroll`` on a device with keys: a second key
directory asks, the first (an enrolled owner) approves, the second then signs."""

from __future__ import annotations

from pathlib import Path

from .test_signing_e2e_cli import HubThread, cli, hub_thread, person

__all__ = ["hub_thread"]  # the fixture, shared with the other CLI test


def test_a_second_key_directory_asks_and_the_first_approves(hub_thread: HubThread, tmp_path: Path) -> None:
    first, second = tmp_path / "laptop-keys", tmp_path / "desktop-keys"
    runner = person(tmp_path, first)
    with hub_thread as hub:
        assert hub.rig is not None
        garage = hub.rig.device("garage_door")

        def carhome(*args: str, keys: Path = first, code: int = 0) -> str:
            result = runner.invoke(cli, [*args, "--hub", hub.url], env={"CARHOME_KEYS": str(keys)})
            assert result.exit_code == code, result.output
            return result.output

        assert runner.invoke(cli, ["keys", "new", "--keys", str(first)]).exit_code == 0
        assert runner.invoke(cli, ["keys", "new", "--keys", str(second)]).exit_code == 0
        carhome("keys", "enroll", "h1/garage_door", "--member", "ana", "--code-from-hub")

        asked = carhome(
            "keys", "enroll", "h1/garage_door", "--member", "ana", "--code-from-hub", "--no-wait", keys=second
        )
        request_id = asked.split("request ")[1].split()[0].rstrip(":")
        assert "carhome keys approve h1/garage_door" in asked
        assert request_id in carhome("keys", "pending", "h1/garage_door")
        # the second directory holds no owner key enrolled here: it cannot approve itself
        assert "not enrolled" in carhome("keys", "approve", "h1/garage_door", request_id, keys=second, code=1)

        assert "approved" in carhome("keys", "approve", "h1/garage_door", request_id)
        assert "enrolled" in carhome("keys", "wait", "h1/garage_door", request_id, keys=second)
        assert "no requests waiting" in carhome("keys", "pending", "h1/garage_door")
        assert "acked" in carhome("call", "h1/garage_door", "open", keys=second)
        assert garage.motion == 1  # type: ignore[attr-defined]
        assert len(carhome("keys", "list", "h1/garage_door").splitlines()) == 3  # header and two keys
