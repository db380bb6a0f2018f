"""Every ``carhome`` command given the mistakes a person makes: no traceback, ever, and an
exit code the README documents (``carhome.cli.exits``).

The commands are walked from the click group itself, so a command added later is driven
too: each gets an unknown option, junk where its arguments go, and every option that
takes a value given a file in a folder that does not exist (or a word where a number
goes). The mistakes people actually made are listed as well: a chart as ``.pdf``, a chart
into a missing folder, the audit log of a hub that is not there. Client commands talk to a
real hub over loopback (``hub_thread``); ``demo`` and ``serve`` only get options their
types refuse, so none of them starts a hub here.
"""

from __future__ import annotations

import asyncio
import json
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from hub_thread import OWNER, OWNER_PASSWORD, HubThread

from carhome.cli import cli
from carhome.cli.exits import DOCUMENTED, REFUSED
from carhome.wire.client import ApiClient
from carhome.wire.problems import ApiError

MISSING = "/dev/null/no-such-folder/nope.pdf"  # under a file: no command can make it
# Commands that start a hub when their arguments are right: only type errors are tried.
STARTS_A_HUB = frozenset({"demo", "serve"})


def leaves(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every runnable command under ``group``, with the words that name it."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaves(command, (*prefix, name))
            if not command.invoke_without_command:
                continue
        yield (*prefix, name), command


def takes_hub(command: click.Command) -> bool:
    return any(p.name == "hub" for p in command.params)


def mistakes(words: tuple[str, ...], command: click.Command) -> Iterator[list[str]]:
    """The bad command lines to try for one command."""
    yield [*words, "--no-such-option"]
    positional = ["nope" for p in command.params if isinstance(p, click.Argument) and p.required]
    if words[0] not in STARTS_A_HUB:
        yield [*words, *positional, "nope", "nope", "nope"]
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag or param.name == "hub" or param.count:
            continue
        typed = not isinstance(param.type, click.types.StringParamType)
        if words[0] in STARTS_A_HUB:
            if typed and not isinstance(param.type, click.Path):
                yield [*words, param.opts[0], "nope"]
            continue
        yield [
            *words,
            *positional,
            param.opts[0],
            MISSING if not typed or isinstance(param.type, click.Path) else "nope",
        ]


# The mistakes people made, each once: (command line, what the answer must say).
SEEN: list[tuple[list[str], str]] = [
    (["plan", "show", "--out", "plan.pdf"], "write the chart as .svg or .png"),
    (["plan", "show", "--out", "/dev/null/no-such-folder/plan.svg"], "no folder"),
    (["trips", "plot", "--out", "/dev/null/no-such-folder/trips.svg"], "no folder"),
    (["trips", "plot", "--out", "trips.pdf"], "write the chart as .svg or .png"),
    (["call", "car", "honk=loud=very"], ""),
    (["set", "purifier", "mode"], "Missing argument"),
]


def run(argv: list[str], url: str, tmp: Path, with_hub: bool) -> Result:
    runner = CliRunner()
    env = {
        "CARHOME_HUB": url if with_hub else None,
        "XDG_STATE_HOME": str(tmp / "state"),
        "CARHOME_KEYS": str(tmp / "keys"),
    }
    return runner.invoke(cli, argv, env=env, input="", catch_exceptions=True)


def judged(argv: list[str], result: Result) -> str | None:
    """What is wrong with the answer to ``argv``, or None."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown = "".join(traceback.format_exception(result.exception)).strip().splitlines()[-1]
        return f"carhome {' '.join(argv)}: a traceback ({shown})"
    if "Traceback (most recent call last)" in result.output:
        return f"carhome {' '.join(argv)}: printed a traceback"
    if result.exit_code not in DOCUMENTED or result.exit_code == 0:
        return f"carhome {' '.join(argv)}: exit {result.exit_code}, not a documented error"
    return None


@pytest.fixture(scope="module")
def tried(hub_thread: HubThread, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[list[str], Result]]:
    tmp = tmp_path_factory.mktemp("mistakes")
    out = [
        (argv, run(argv, hub_thread.url, tmp, takes_hub(command)))
        for words, command in leaves(cli)
        for argv in mistakes(words, command)
    ]
    out.extend((argv, run(argv, hub_thread.url, tmp, True)) for argv, _ in SEEN)
    return out


def test_no_mistake_gives_a_traceback_or_an_undocumented_exit(tried: list[tuple[list[str], Result]]) -> None:
    wrong = [w for argv, result in tried if (w := judged(argv, result)) is not None]
    print(
        f"command lines with a mistake answered with a traceback or an odd exit: {len(wrong)} of {len(tried)}"
    )
    assert len(tried) > 100
    assert wrong == []


@pytest.mark.parametrize(("argv", "said"), SEEN, ids=[" ".join(a) for a, _ in SEEN])
def test_the_mistakes_people_made_are_answered_in_words(
    argv: list[str], said: str, hub_thread: HubThread, tmp_path: Path
) -> None:
    result = run(argv, hub_thread.url, tmp_path, True)
    assert judged(argv, result) is None, result.output
    assert said in result.output


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    """A hub with members and an audit log."""
    thread = HubThread(access=tmp_path_factory.mktemp("access"))
    thread.start()
    yield thread
    thread.stop()


def test_audit_verify_asks_the_running_hub(guarded: HubThread, tmp_path: Path) -> None:
    """No ``--db`` and no database here: the running hub checks its own log."""
    login = httpx.post(f"{guarded.url}/api/auth/login", json={"member": OWNER, "password": OWNER_PASSWORD})
    token = login.json()["access_token"]
    env = {"CARHOME_HUB": guarded.url, "XDG_STATE_HOME": str(tmp_path), "CARHOME_TOKEN": token}
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env, catch_exceptions=True)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("audit chain intact: "), result.output
    result = CliRunner().invoke(cli, ["audit", "verify", "--json"], env=env, catch_exceptions=True)
    assert json.loads(result.output)["intact"] is True


def test_audit_verify_of_a_missing_file_says_what_to_give(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", str(tmp_path / "access.db")])
    assert result.exit_code == 1
    assert "leave --db out to ask the running hub" in result.output


HTTP_WORDS = ("POST ", "GET ", "Bearer", "/api/", "unknown_key", "http-", "http_")


def test_runtime_errors_speak_the_users_words(guarded: HubThread, tmp_path: Path) -> None:
    """A wrong password and a missing login: said in words, with what to do; the problem's
    code stays on the error for scripts."""
    env = {"CARHOME_HUB": guarded.url, "XDG_STATE_HOME": str(tmp_path)}
    wrong = CliRunner().invoke(cli, ["login", OWNER], env=env, input="not the password\n")
    anonymous = CliRunner().invoke(cli, ["devices"], env=env)
    said = [wrong.output.strip().splitlines()[-1], anonymous.output.strip().splitlines()[-1]]
    spoken = [line for line in said if not any(word in line for word in HTTP_WORDS)]
    print(f"errors in the user's words: {len(spoken)} of {len(said)}")
    assert (wrong.exit_code, anonymous.exit_code) == (1, 1)
    assert spoken == said, said
    assert "carhome login" in said[0]
    assert "carhome login MEMBER" in said[1]

    async def refused() -> ApiError:
        async with ApiClient(guarded.url) as client:
            with pytest.raises(ApiError) as caught:
                await client.request("GET", "/api/devices")
        return caught.value

    error = asyncio.run(refused())
    assert (error.code, error.status) == ("unauthorized", 401)
    assert "Bearer" in error.fields["hub_detail"]  # the hub's own sentence, kept for scripts


def test_a_refused_command_exits_as_documented(guarded: HubThread, tmp_path: Path) -> None:
    """Access says no (an unsigned unlock of the car, which needs the member's signature):
    exit 3, as the README's table says, on ``call`` and on ``say`` alike."""
    owner = httpx.post(f"{guarded.url}/api/auth/login", json={"member": OWNER, "password": OWNER_PASSWORD})
    env = {
        "CARHOME_HUB": guarded.url,
        "XDG_STATE_HOME": str(tmp_path),
        "CARHOME_TOKEN": owner.json()["access_token"],
        "CARHOME_KEYS": str(tmp_path / "no-keys"),
    }
    refused = CliRunner().invoke(cli, ["call", "h1/car", "unlock"], env=env)
    said = CliRunner().invoke(cli, ["say", "unlock the car", "--home", "h1"], env=env)
    print(f"refused: call exits {refused.exit_code}, say exits {said.exit_code}")
    assert refused.exit_code == REFUSED, refused.output
    assert said.exit_code == REFUSED, said.output


def test_the_readme_states_the_exit_codes_the_cli_uses() -> None:
    """Every ``N words`` of the README's "Exit codes:" sentence is a code of
    ``carhome.cli.exits``, and every code of the CLI but 5 (``say``'s own, in its row) is in it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"Exit codes:(.+?)\.\s", readme.replace("\n", " "))
    assert sentence is not None, "the README has no 'Exit codes:' sentence"
    stated = {int(code) for code in re.findall(r"(?:^|,)\s*(\d)\s+[a-z]", sentence.group(1))}
    print(f"exit codes the README states: {sorted(stated)}; the CLI's: {sorted(DOCUMENTED)}")
    assert stated <= set(DOCUMENTED)
    assert set(DOCUMENTED) - stated <= {5}
    assert "exit 0 done, 3 refused or failed, 4 pending, 5 ambiguous or not understood" in readme
