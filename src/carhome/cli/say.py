"""``carhome say "…"``: a request in words (English or Chinese), answered in words.

The sentence goes to the hub's ``POST /api/say`` as the logged-in member, so commands are
decided by the gatekeeper and audited like any other; by default the CLI waits for a
command's acknowledgement and prints how it ended. Exit status: 0 done or answered,
3 refused, failed or expired, 4 still pending, 5 ambiguous or not understood, 1 when the
hub could not be reached or refused the request, 2 for a usage mistake.
"""

from __future__ import annotations

from typing import Any, Final

import click

from carhome.cli import exits
from carhome.cli.client import HubClient
from carhome.cli.keys import signed_call
from carhome.cli.options import hub_options, with_client
from carhome.cli.output import echo_json
from carhome.hub.commands import Command
from carhome.wire.say import MAX_WAIT, SayResult

EXIT_FAILED: Final = exits.REFUSED
EXIT_PENDING: Final = exits.PENDING
EXIT_NOT_UNDERSTOOD: Final = exits.NOT_UNDERSTOOD


class SayClient(HubClient):
    """The hub's client with the say route."""

    async def say(
        self,
        text: str,
        *,
        language: str | None = None,
        home: str | None = None,
        wait: float = 0.0,
        here: str | None = None,
    ) -> SayResult:
        body: dict[str, Any] = {"text": text, "wait": wait}
        if here is not None:
            body["here"] = here
        if language is not None:
            body["language"] = language
        if home is not None:
            body["home"] = home
        return await self.call("POST", "/api/say", SayResult, body=body, wait=wait or None)


@click.command()
@click.argument("words", nargs=-1, required=True, metavar="TEXT")
@click.option("--language", type=click.Choice(["en", "zh"]), help="The text's language [default: guessed].")
@click.option("--home", metavar="HOME", help="The home to speak to (when the hub has several).")
@click.option(
    "--here",
    metavar="DEVICE|ROOM",
    help="Where you ask from: of several devices that fit, the one there (e.g. --here car).",
)
@click.option(
    "--wait",
    type=click.FloatRange(0, MAX_WAIT),
    default=20.0,
    show_default=True,
    help="Seconds to wait for a command's acknowledgement (0: answer once it is sent).",
)
@hub_options
def say(
    *,
    words: tuple[str, ...],
    language: str | None,
    home: str | None,
    here: str | None,
    wait: float,
    hub: str | None,
    as_json: bool,
) -> None:
    """Ask the home in words, in English or Chinese.

    \b
    Examples:
      carhome say "turn on the living room air purifier"
      carhome say "how much charge is left?"
      carhome say "is the garage open?"
      carhome say 打开客厅的灯
      carhome say 车还有多少电
    """
    text = " ".join(words)

    async def work(client: SayClient) -> tuple[SayResult, Command | None]:
        result = await client.say(text, language=language, home=home, wait=wait, here=here)
        proposal, signed = result.sign, None
        if proposal is not None and proposal.kind == "action":
            # refused only for want of a signature: this machine's key signs it when enrolled
            signed = await signed_call(
                client,
                proposal.home,
                proposal.device,
                proposal.target,
                proposal.args,
                ttl=60.0,
                wait=wait > 0,
            )
        if signed is not None:
            result.status, result.commands = "done", [signed.id]
            result.command_status, result.reason = signed.status.value, signed.error
        return result, signed

    result, signed = with_client(hub, SayClient, work)
    if as_json:
        echo_json(result)
    elif signed is not None:
        click.echo(f"Signed with this machine's key and sent: {signed.target} on {signed.device}.")
        click.echo(f"command {signed.id}: {signed.status.value}")
    else:
        click.echo(result.answer)
        if result.commands and result.command_status not in ("acked", None):
            click.echo(f"command {result.commands[0]}: {result.command_status}")
    ctx = click.get_current_context()
    if result.status in ("ambiguous", "not_understood"):
        ctx.exit(EXIT_NOT_UNDERSTOOD)
    if result.status == "refused" or result.command_status in ("failed", "expired"):
        ctx.exit(EXIT_FAILED)
    if result.status == "done" and wait > 0 and result.command_status not in ("acked", "failed", "expired"):
        ctx.exit(EXIT_PENDING)
