"""``carhome automations``: list the loaded automations, check a file, show a run's traces.

Talks to a running hub's local API (``carhome.api.automations``) through ``HubClient``,
extended here with the three automation calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from carhome.api.automations import AutomationOut, CheckResult, TraceList
from carhome.automations import Trace
from carhome.cli.client import ApiError, HubClient
from carhome.cli.options import hub_options, hub_url
from carhome.cli.output import echo_json, table, value_text
from carhome.errors import CarhomeError

_T = TypeVar("_T")


class AutomationsClient(HubClient):
    """``HubClient`` with the automation calls."""

    async def automations(self) -> list[AutomationOut]:
        return await self._call("GET", "/api/automations", list[AutomationOut])

    async def check(self, text: str, file: str) -> CheckResult:
        body = {"text": text, "file": file}
        return await self._call("POST", "/api/automations/check", CheckResult, json=body)

    async def traces(self, automation: str) -> TraceList:
        return await self._call("GET", f"/api/automations/{automation}/traces", TraceList)


def _with_client(given: str | None, work: Callable[[AutomationsClient], Awaitable[_T]]) -> _T:
    async def run() -> _T:
        async with AutomationsClient(hub_url(given)) as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except ApiError as exc:
        raise click.ClickException(exc.detail) from exc
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def automations() -> None:
    """Automations: what is loaded, whether a file is valid, what each run did."""


@automations.command("list")
@hub_options
def list_(*, hub: str | None, as_json: bool) -> None:
    """List the loaded automations with their mode and how often they ran.

    \b
    Examples:
      carhome automations list
      carhome automations list --json
    """
    found = _with_client(hub, lambda client: client.automations())
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("no automations loaded")
        return
    rows = [
        [
            a.id,
            a.mode,
            "yes" if a.enabled else "no",
            str(a.firings),
            str(a.dropped),
            str(a.active),
            f"{a.file}:{a.line}" if a.line else a.file,
        ]
        for a in found
    ]
    click.echo(table(["ID", "MODE", "ENABLED", "RUNS", "DROPPED", "ACTIVE", "SOURCE"], rows))


@automations.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@hub_options
def check(*, file: Path, hub: str | None, as_json: bool) -> None:
    """Check the automations in FILE against the hub (devices, properties …) without
    loading them. Exits 1 if any is invalid, with each error's file and line.

    \b
    Examples:
      carhome automations check examples/automations/arrive_home.yaml
    """
    text = file.read_text(encoding="utf-8")
    result = _with_client(hub, lambda client: client.check(text, str(file)))
    if as_json:
        echo_json(result)
    else:
        for error in result.errors:
            where = f"{error.file}:{error.line}" if error.line else str(error.file)
            click.echo(f"{where}: {error.message}")
        if not result.errors:
            click.echo(f"{file}: ok")
    if result.errors:
        raise SystemExit(1)


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _trace_text(trace: Trace) -> str:
    lines = [
        f"run {trace.run}  {_when(trace.started)}  {trace.status}"
        + (f": {trace.reason}" if trace.reason else "")
    ]
    if trace.resumed is not None:
        lines.append(f"  resumed after a restart at actions[{trace.resumed}]")
    event = trace.trigger
    if event is not None:
        what = f"{event.home}/{event.device} {event.prop}" if event.device else event.prop
        late = "  (late: came due while the hub was down)" if event.late else ""
        lines.append(f"  trigger[{event.index}] {event.kind}: {what} = {value_text(event.value)}{late}")
    lines.extend(f"  condition {c.path}: {'pass' if c.passed else 'fail'}" for c in trace.conditions)
    for step in trace.steps:
        extra = f"  {step.error}" if step.error else (f"  {value_text(step.result)}" if step.result else "")
        late = "  late" if step.late else ""
        lines.append(
            f"  {step.path:<24} {step.kind:<10} {step.status:<9} {step.duration_ms:8.1f} ms{late}{extra}"
        )
    return "\n".join(lines)


@automations.command()
@click.argument("name", metavar="NAME")
@hub_options
def trace(*, name: str, hub: str | None, as_json: bool) -> None:
    """Show the latest runs of automation NAME: trigger, conditions, each step and timing.

    \b
    Examples:
      carhome automations trace arrive_home
    """
    found = _with_client(hub, lambda client: client.traces(name))
    if as_json:
        echo_json(found)
        return
    if not found.traces:
        click.echo(f"{name}: no runs yet")
        return
    click.echo("\n\n".join(_trace_text(t) for t in found.traces))
