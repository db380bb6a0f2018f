"""``carhome setup``: a running hub's first run from the terminal, as the web app's /setup page.

It makes the hub's first owner with the one-time setup code the hub printed when it started
(asked for, or ``--code``), the owner's id, name and password (read without echo and asked
twice, or the first line of standard input with ``--password-stdin``), and keeps the
owner's session as ``carhome login`` would. Then the home: a home the configuration file
holds is shown as it is (the file is where it changes); any other is asked for (or given by
``--home-name``, ``--lat``, ``--lon``, ``--timezone``, ``--price``) and kept by the hub.
Last, how first devices connect to this hub. Every refusal is said in plain words.
"""

from __future__ import annotations

import sys

import click

from carhome.cli.client import HubClient
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import echo_json
from carhome.wire.setup import DeviceHints, FirstOwner, HomeSettings, HomeSetup


def _home_settings(
    current: HomeSetup,
    *,
    name: str | None,
    lat: float | None,
    lon: float | None,
    timezone: str | None,
    price: float | None,
) -> HomeSettings:
    """The home's settings from the options, asking for each one not given."""
    default_name = current.name or current.id.replace("_", " ").replace("-", " ").capitalize()
    return HomeSettings(
        name=name if name is not None else click.prompt("Home name", default=default_name),
        lat=lat
        if lat is not None
        else click.prompt("Latitude (WGS 84 degrees)", type=float, default=current.lat),
        lon=lon
        if lon is not None
        else click.prompt("Longitude (WGS 84 degrees)", type=float, default=current.lon),
        timezone=timezone
        if timezone is not None
        else click.prompt("Time zone (IANA, like Europe/Berlin)", default=current.timezone),
        price=price,
    )


def _say_home(home: HomeSetup) -> None:
    where = f"{home.lat}, {home.lon}" if home.lat is not None and home.lon is not None else "no place yet"
    tariff = (
        f"fixed {home.price} per kWh" if home.tariff == "fixed" and home.price is not None else home.tariff
    )
    click.echo(
        f"home {home.id}: {home.name or '(no name)'} at {where}, time zone {home.timezone}, tariff {tariff}"
    )
    if home.in_config:
        click.echo("  (from the configuration file: change it there and restart the hub)")


def _say_devices(hints: DeviceHints) -> None:
    click.echo("First devices:")
    click.echo(
        f"  MQTT devices: broker {hints.mqtt_url}, state on {hints.state_topic},"
        f" commands on {hints.command_topic}"
    )
    click.echo(f"    each with its own login: {hints.credentials}")
    if hints.ocpp_url is not None:
        click.echo(f"  A wallbox (OCPP 1.6J or 2.0.1): {hints.ocpp_url}, HTTP Basic auth with the charger id")
        for charger in hints.chargers:
            click.echo(f"    {charger.device}: {charger.url}")
    else:
        click.echo(
            "  A wallbox (OCPP): add an ocpp section to the configuration file (see examples/carhome.yaml)"
        )


@click.command()
@click.option("--code", help="The setup code the hub printed when it started [asked when left out].")
@click.option("--member", "member", help="The owner's member id, e.g. ana [asked when left out].")
@click.option("--name", help="The owner's name as shown [asked when left out].")
@click.option("--password-stdin", is_flag=True, help="Read the owner's password from standard input.")
@click.option("--home", "home", help="The id of the owner's home [default: the hub's first home].")
@click.option("--home-name", help="The home's name (a home not in the configuration file).")
@click.option("--lat", type=click.FloatRange(-90, 90), help="The home's latitude, WGS 84 degrees.")
@click.option("--lon", type=click.FloatRange(-180, 180), help="The home's longitude, WGS 84 degrees.")
@click.option("--timezone", help="The home's IANA time zone, e.g. Asia/Shanghai.")
@click.option("--price", type=click.FloatRange(0, 1000), help="A fixed price per kWh for the home's energy.")
@hub_options
def setup(
    *,
    code: str | None,
    member: str | None,
    name: str | None,
    password_stdin: bool,
    home: str | None,
    home_name: str | None,
    lat: float | None,
    lon: float | None,
    timezone: str | None,
    price: float | None,
    hub: str | None,
    as_json: bool,
) -> None:
    """Make a new hub's first owner with the setup code it printed, then set up its home.

    \b
    Examples:
      carhome setup
      carhome setup --code 88CR-NG7T-CE49 --member ana --name Ana --password-stdin \\
          --home-name "Our flat" --lat 39.79 --lon 116.50 --timezone Asia/Shanghai
    """

    async def work(client: HubClient) -> None:
        status = await client.setup_status()
        if not status.needs_owner:
            raise click.ClickException(
                f"the hub at {client.url} has its owner already; log in instead: carhome login MEMBER"
            )
        given = code if code is not None else click.prompt("Setup code (printed where the hub started)")
        who = member if member is not None else click.prompt("Your member id (lower-case, e.g. ana)")
        shown = name if name is not None else click.prompt("Your name", default=who)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(
                "Password (8 characters or more)", hide_input=True, confirmation_prompt=True
            )
        tokens = await client.first_owner(
            FirstOwner(code=given, member=who.strip(), name=shown, password=password, home=home)
        )
        current = await client.setup_home()
        if not current.in_config:
            asked = (home_name, lat, lon, timezone)
            if current.exists and all(v is None for v in asked) and price is None:
                pass  # a home the hub keeps already: nothing asked to change
            else:
                current = await client.set_setup_home(
                    _home_settings(current, name=home_name, lat=lat, lon=lon, timezone=timezone, price=price)
                )
        hints = await client.device_hints()
        if as_json:
            echo_json({"member": tokens.member, "home": current, "devices": hints, "hub": client.url})
            return
        click.echo(f"owner {tokens.member} made, and logged in to {client.url}")
        _say_home(current)
        _say_devices(hints)
        click.echo(f"Open the web app at {client.url}/ and log in as {tokens.member}.")

    with_hub(hub, work)
