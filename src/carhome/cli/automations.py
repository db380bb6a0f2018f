"""``carhome automations``: list, check, apply (create or replace), enable and disable
automations, and show a run's traces.

Talks to a running hub's local API (``carhome.automations.routes``) through ``HubClient``,
extended here with the automation calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from carhome.cli.client import ApiError, HubClient
from carhome.cli.options import hub_options, with_client
from carhome.cli.output import echo_json, echo_result, table, value_text
from carhome.wire.automations import AutomationDetail, AutomationOut, CheckResult, Trace, TraceList

_T = TypeVar("_T")


class AutomationsClient(HubClient):
    """``HubClient`` with the automation calls."""

    async def automations(self) -> list[AutomationOut]:
        return await self.call("GET", "/api/automations", list[AutomationOut])

    async def check(self, text: str, file: str) -> CheckResult:
        body = {"text": text, "file": file}
        return await self.call("POST", "/api/automations/check", CheckResult, body=body)

    async def traces(self, automation: str) -> TraceList:
        return await self.call("GET", f"/api/automations/{automation}/traces", TraceList)

    async def automation(self, automation: str) -> AutomationDetail:
        return await self.call("GET", f"/api/automations/{automation}", AutomationDetail)

    async def create(self, text: str) -> AutomationDetail:
        return await self.call("POST", "/api/automations", AutomationDetail, body={"text": text})

    async def replace(self, automation: str, text: str) -> AutomationDetail:
        return await self.call("PUT", f"/api/automations/{automation}", AutomationDetail, body={"text": text})

    async def apply(self, text: str) -> tuple[str, AutomationDetail]:
        """Create the automation of ``text``, or replace it when its id exists."""
        try:
            return "created", await self.create(text)
        except ApiError as exc:
            existing = exc.fields.get("automation")
            if exc.status != 409 or not isinstance(existing, str):
                raise
        return "replaced", await self.replace(existing, text)

    async def switch(self, automation: str, enabled: bool) -> AutomationDetail:
        verb = "enable" if enabled else "disable"
        return await self.call("POST", f"/api/automations/{automation}/{verb}", AutomationDetail)


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
    found = with_client(hub, AutomationsClient, lambda client: client.automations())
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
    result = with_client(hub, AutomationsClient, lambda client: client.check(text, str(file)))
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


def _refused(exc: ApiError, file: Path) -> str:
    """A refused save as ``file:line: message`` lines, like ``check`` prints them."""
    errors = exc.fields.get("errors")
    if exc.status != 422 or not isinstance(errors, list) or not errors:
        return exc.detail
    lines = []
    for error in errors:
        line = error.get("line") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        path = error.get("path") if isinstance(error, dict) else None
        message = f"{path}: {message}" if path else message
        lines.append(f"{file}:{line}: {message}" if line else f"{file}: {message}")
    return "\n".join(lines)


@automations.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@hub_options
def apply(*, file: Path, hub: str | None, as_json: bool) -> None:
    """Create the automation in FILE on the hub, or replace it when its id exists. The hub
    checks it first (as `check` does) and keeps it in its data directory; an automation of a
    read-only file (the demo's) is saved as an override that wins at every start.

    \b
    Examples:
      carhome automations apply night_light.yaml
    """
    text = file.read_text(encoding="utf-8")

    async def work(client: AutomationsClient) -> tuple[str, AutomationDetail]:
        try:
            return await client.apply(text)
        except ApiError as exc:
            raise click.ClickException(_refused(exc, file)) from exc

    verb, saved = with_client(hub, AutomationsClient, work)
    if as_json:
        echo_json(saved)
        return
    state = "enabled" if saved.enabled else "disabled"
    click.echo(f"{verb} {saved.id} ({state}), kept in {saved.file}")


def _switch(name: str, hub: str | None, as_json: bool, enabled: bool) -> None:
    found = with_client(hub, AutomationsClient, lambda client: client.switch(name, enabled))
    echo_result(
        found,
        f"{found.id}: {'enabled' if found.enabled else 'disabled'} (kept across restarts)",
        as_json=as_json,
    )


@automations.command()
@click.argument("name", metavar="ID")
@hub_options
def enable(*, name: str, hub: str | None, as_json: bool) -> None:
    """Switch automation ID on: its triggers fire again. Kept across restarts.

    \b
    Examples:
      carhome automations enable locked_at_night
    """
    _switch(name, hub, as_json, True)


@automations.command()
@click.argument("name", metavar="ID")
@hub_options
def disable(*, name: str, hub: str | None, as_json: bool) -> None:
    """Switch automation ID off: it stays loaded, its triggers do not fire. Kept across restarts.

    \b
    Examples:
      carhome automations disable locked_at_night
    """
    _switch(name, hub, as_json, False)


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
    found = with_client(hub, AutomationsClient, lambda client: client.traces(name))
    if as_json:
        echo_json(found)
        return
    if not found.traces:
        click.echo(f"{name}: no runs yet")
        return
    click.echo("\n\n".join(_trace_text(t) for t in found.traces))
