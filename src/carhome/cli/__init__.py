"""The ``carhome`` command line: a face over the local API (and the way to start a hub)."""

from carhome.cli.client import ApiError, HubClient
from carhome.cli.main import cli, main

__all__ = ["ApiError", "HubClient", "cli", "main"]
