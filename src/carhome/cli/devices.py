"""``carhome devices`` and ``carhome state``: what the hub knows about, and what it reports."""

from __future__ import annotations

import click

from carhome.cli.client import HubClient
from carhome.cli.names import resolve_device, short_names
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import age_text, echo_json, online_text, reading, table
from carhome.wire.devices import DeviceDetail, DeviceOut


@click.command()
@click.option("--home", metavar="HOME", help="Only the devices of this home.")
@hub_options
def devices(*, home: str | None, hub: str | None, as_json: bool) -> None:
    """List the devices of every home (or of one).

    \b
    Examples:
      carhome devices
      carhome devices --home yizhuang --json
    """

    async def work(client: HubClient) -> list[DeviceOut]:
        return await client.devices(home)

    found = with_hub(hub, work)
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("no devices" + (f" in home {home!r}" if home else ""))
        return
    rows = [[d.home, d.id, d.type, d.name, d.room or "", d.connector, online_text(d.online)] for d in found]
    click.echo(table(["HOME", "DEVICE", "TYPE", "NAME", "ROOM", "CONNECTOR", "ONLINE"], rows))


@click.command()
@click.argument("device", metavar="DEVICE")
@click.option("--full", is_flag=True, help="Show full property names (whole VSS paths).")
@click.option("--reported", is_flag=True, help="Only the properties the device has reported.")
@hub_options
def state(*, device: str, full: bool, reported: bool, hub: str | None, as_json: bool) -> None:
    """Show every property of DEVICE with its value, unit, age and source.

    DEVICE is HOME/DEVICE, or just DEVICE when only one home has a device of that id.
    Long VSS paths are shown by their shortest unique ending; --full shows them whole.

    \b
    Examples:
      carhome state car
      carhome state yizhuang/purifier --json
    """

    async def work(client: HubClient) -> DeviceDetail:
        home, dev = resolve_device(device, [] if "/" in device else await client.devices())
        return await client.device(home, dev)

    detail = with_hub(hub, work)
    if as_json:
        echo_json(detail)
        return
    d = detail.device
    click.echo(f"{d.home}/{d.id}  {d.name or d.id}  ({detail.spec.title}, online: {online_text(d.online)})")
    props = [p for p in detail.spec.properties if not reported or p.name in detail.state]
    names = short_names(p.name for p in detail.spec.properties)
    rows = []
    for prop in props:
        st = detail.state.get(prop.name)
        value, unit = reading(None if st is None else st.value, prop.unit)
        rows.append(
            [
                prop.name if full else names[prop.name],
                "-" if st is None else value,
                unit,
                "-" if st is None else age_text(detail.now - st.ts),
                "-" if st is None else st.source or "-",
            ]
        )
    click.echo(table(["PROPERTY", "VALUE", "UNIT", "AGE", "SOURCE"], rows))
