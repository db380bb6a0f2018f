"""``carhome openapi``: print (or write) the OpenAPI 3.1 description of the hub's HTTP API.

The description is built from the parts' declared operations (``carhome.compose.operations``), so it needs no
running hub; the repository keeps a copy in ``docs/openapi.json`` (``carhome openapi -o
docs/openapi.json``), which a test keeps current.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the description to this file instead of printing it.",
)
def openapi(*, output: Path | None) -> None:
    """Print the OpenAPI 3.1 description of the hub's HTTP API (JSON).

    \b
    Examples:
      carhome openapi > openapi.json
      carhome openapi -o docs/openapi.json
    """
    from carhome.compose.operations import document_bytes  # noqa: PLC0415 - the composition loads only when asked

    if output is None:
        click.echo(document_bytes().decode(), nl=False)
        return
    output.write_bytes(document_bytes())
    click.echo(f"wrote {output}")
