"""``carhome demo`` and ``carhome serve``: start a hub in this process.

These commands only read and check their options (and, for ``serve``, the config file,
so a mistake is reported by file and line before anything starts) and hand over to the
composition (``carhome.compose``), which runs the hub, store, broker, connectors and API as
a loop over the parts. The composition is imported (typed) inside the commands that run a
hub, so the client commands stay light.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path

import click
from click.core import ParameterSource

from carhome import ports
from carhome.cli.options import checked_value, config_option, port_option, store_option
from carhome.errors import CarhomeError


def _no_runtime(exc: ModuleNotFoundError) -> click.ClickException:
    if exc.name != "carhome.compose.runtime":
        raise exc
    return click.ClickException(
        "this build of carhome has no runtime (carhome.compose.runtime); it cannot start a hub"
    )


def _run(hub: Coroutine[object, object, None]) -> None:
    try:
        asyncio.run(hub)
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc


def _broker_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from carhome.compose.config import check_broker_url  # noqa: PLC0415 - the composition loads only when asked

    return checked_value(check_broker_url, value)


@click.command()
@click.option(
    "--for",
    "duration",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after SECONDS of real time [default: run until Ctrl-C].",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".carhome"),
    show_default=True,
    help="Directory for the demo's database and state.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated time runs this many times faster than real time.",
)
@port_option("--api-port", ports.API, "Port of the local API on 127.0.0.1 (0 picks a free one).")
@port_option("--mqtt-port", ports.BROKER, "Port of the built-in MQTT broker on 127.0.0.1.")
@click.option(
    "--mqtt-url",
    metavar="URL",
    callback=_broker_url,
    help="Use this external broker (mqtt://host:port) instead of the built-in one.",
)
@store_option(
    "Keep the hub's store (homes, devices, states, commands) at this URL"
    " (postgresql://user:password@host/db or sqlite:///file) [default: carhome.db in --data]."
)
def demo(
    *,
    duration: float | None,
    data_dir: Path,
    speed: float,
    api_port: int,
    mqtt_port: int,
    mqtt_url: str | None,
    store: str | None,
) -> None:
    """Run a hub with a simulated home and car, to try carhome without hardware.

    The hub announces its address, so `carhome devices` in another terminal finds it.

    \b
    Examples:
      carhome demo
      carhome demo --speed 60 --for 600
      carhome demo --mqtt-url mqtt://127.0.0.1:1883
      carhome demo --store postgresql://carhome:secret@127.0.0.1/carhome
    """
    ctx = click.get_current_context()
    if mqtt_url is not None and ctx.get_parameter_source("mqtt_port") is ParameterSource.COMMANDLINE:
        raise click.UsageError("give --mqtt-port (built-in broker) or --mqtt-url (external), not both")
    try:
        from carhome.compose import runtime  # noqa: PLC0415 - the composition loads only when a hub runs
    except ModuleNotFoundError as exc:
        raise _no_runtime(exc) from exc
    _run(
        runtime.run_demo(
            duration=duration,
            data_dir=data_dir,
            speed=speed,
            api_port=api_port,
            mqtt_port=mqtt_port,
            mqtt_url=mqtt_url,
            store=store,
        )
    )


@click.command()
@config_option()
@click.option("--check", is_flag=True, help="Only check the configuration file, then exit.")
def serve(*, config_file: Path, check: bool) -> None:
    """Run a hub as the configuration file describes it.

    See examples/carhome.yaml for every setting, with comments.

    \b
    Examples:
      carhome serve --config /etc/carhome/carhome.yaml
      carhome serve --config carhome.yaml --check
    """
    from carhome.compose.config import load_config, redacted  # noqa: PLC0415 - loads only when asked

    try:
        config = load_config(config_file)
    except CarhomeError as exc:
        raise click.ClickException(str(exc)) from exc
    if check:
        devices = sum(len(h.devices) for h in config.homes)
        external = config.mqtt.url
        broker = (
            redacted(external)
            if external
            else f"built-in on {config.mqtt.broker.host}:{config.mqtt.broker.port}"
        )
        from carhome.store.postgres import redacted as store_url  # noqa: PLC0415

        store = "" if config.hub.store is None else f", hub's store {store_url(config.hub.store)}"
        click.echo(
            f"{config_file}: ok — {len(config.homes)} home(s), {devices} device(s),"
            f" API on {config.api.host}:{config.api.port}, MQTT {broker}{store}"
        )
        return
    try:
        from carhome.compose import runtime  # noqa: PLC0415 - the composition loads only when a hub runs
    except ModuleNotFoundError as exc:
        raise _no_runtime(exc) from exc
    _run(runtime.run_serve(config))
