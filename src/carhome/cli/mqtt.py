"""``carhome mqtt …``: the hub's MQTT identities, and files for an external Mosquitto.

``credentials`` makes (or brings up to date) the credentials file in the hub's data
directory — one identity per MQTT device of the configuration, one for the hub, and
Home Assistant's two when it is configured — and lists the usernames. With
``--mosquitto DIR`` it also writes ``mosquitto.conf``, ``password_file`` and ``acl_file``
there, from the same table the built-in broker (the NATS server the hub runs) enforces,
and says which logins the hub's config then takes: the hub's and the Home Assistant
bridge's, each its own. Passwords are printed only when asked for one identity
(``--show``), to provision that device or the hub's config.
"""

from __future__ import annotations

from pathlib import Path

import click

from carhome.cli.options import config_option
from carhome.compose.config import Config, load_config
from carhome.errors import CarhomeError
from carhome.mqtt.credentials import BridgeIdentity, Credentials, write_mosquitto


def hub_credentials(config: Config) -> Credentials:
    """The credentials of the hub ``config`` describes, made or updated in its data directory."""
    from carhome.compose.runtime import mqtt_credentials  # noqa: PLC0415 - the runtime is heavy; load it when used

    return mqtt_credentials(config, Path(config.hub.data_dir))


@click.group()
def mqtt() -> None:
    """The hub's MQTT identities and access rules."""


@mqtt.command()
@config_option()
@click.option(
    "--mosquitto",
    "mosquitto_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write mosquitto.conf, password_file and acl_file into DIR.",
)
@click.option("--port", default=1883, show_default=True, help="The Mosquitto listener's port.")
@click.option("--host", default=None, help="The address Mosquitto listens on (all when not given).")
@click.option("--show", "show", metavar="USERNAME", help="Print this identity's password (to provision it).")
def credentials(
    *, config_file: Path, mosquitto_dir: Path | None, port: int, host: str | None, show: str | None
) -> None:
    """Make or update the MQTT credentials of the hub a configuration file describes.

    Each device gets the username HOME/DEVICE and may publish only its own state, event,
    ack and status and read only its own commands; anonymous clients are refused.

    \b
    Examples:
      carhome mqtt credentials --config carhome.yaml
      carhome mqtt credentials --config carhome.yaml --mosquitto /etc/mosquitto/carhome
      carhome mqtt credentials --config carhome.yaml --show yizhuang/car
    """
    try:
        made = hub_credentials(load_config(config_file))
        if mosquitto_dir is not None:
            files = write_mosquitto(mosquitto_dir, made, port=port, host=host)
    except (CarhomeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if show is not None:
        identity = made.get(show)
        if identity is None:
            raise click.ClickException(
                f"no identity {show!r}; known: {', '.join(sorted(i.username for i in made.identities))}"
            )
        click.echo(f"username: {identity.username}\npassword: {identity.password}")
        return
    for identity in made.identities:
        click.echo(f"{identity.username}\t{type(identity).__name__.removesuffix('Identity').lower()}")
    if mosquitto_dir is not None:
        click.echo(
            f"wrote {files.conf}, {files.password_file.name} and {files.acl_file.name} (mode 0600:"
            " make them readable by the user Mosquitto runs as); run: mosquitto -c"
            f" {files.conf}"
        )
        # Each of the hub's clients logs in as itself: Mosquitto takes the username as the
        # client id, so two clients sharing one login would drop each other.
        hub = made.hub()
        click.echo(
            "then give the hub these logins in its config (passwords: --show USERNAME):\n"
            f"  mqtt: {{url: mqtt://HOST:{port}, username: {hub.username}, password: …}}"
        )
        bridge = next((i for i in made.identities if isinstance(i, BridgeIdentity)), None)
        if bridge is not None:
            click.echo(f"  homeassistant: {{…, username: {bridge.username}, password: …}}")
