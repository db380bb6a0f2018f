"""``carhome say`` against a real hub in a thread (``tests/cli/hub_thread.py``): the answer
printed, the exit status, and a hub with two homes asking which."""

from __future__ import annotations

import json

from cli.hub_thread import Carhome, HubThread


def test_say_cli_runs_a_command_and_prints_the_answer(carhome: Carhome, hub_thread: HubThread) -> None:
    done = carhome("say", "turn on the living room purifier", "--home", "h1")
    assert done.exit_code == 0, done.output
    assert done.output == "Done: turn on the Living room purifier.\n"
    last = (hub_thread.device.received if hub_thread.device else [])[-1]
    assert (last.home, last.device, last.target, last.member) == ("h1", "purifier", "turn_on", "cli-test")
    zh = carhome("say", "打开客厅的空气净化器", "--home", "h1", "--json")
    assert zh.exit_code == 0, zh.output
    body = json.loads(zh.output)
    assert (body["language"], body["status"], body["command_status"]) == ("zh", "done", "acked")


def test_say_cli_exit_status_follows_the_outcome(carhome: Carhome) -> None:
    lost = carhome("say", "make", "me", "a", "sandwich", "--home", "h1")
    assert lost.exit_code == 5
    assert "did not understand “make me a sandwich”" in lost.output
    question = carhome("say", "how much charge is left?", "--home", "h1")
    assert question.exit_code == 0
    assert question.output == "The Car has not reported its charge yet.\n"
    # the test hub has no gatekeeper; its device refuses to unlock
    failed = carhome("say", "unlock the car", "--home", "h1")
    assert failed.exit_code == 3, failed.output
    assert failed.output.startswith("Could not unlock the Car: a door is open.\n")


def test_say_cli_with_several_homes_asks_which(carhome: Carhome) -> None:
    result = carhome("say", "turn on the purifier")
    assert result.exit_code == 1
    assert "$.home" in result.output
    assert "h1, h2" in result.output
