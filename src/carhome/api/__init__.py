"""The local HTTP API: a face over the hub for the CLI and scripts on the same machine.

``create_app(hub)`` builds the Starlette app; ``ApiServer`` serves it with uvicorn on
loopback; ``write_hub_address``/``read_hub_address`` let the CLI find a running hub.
"""

from carhome.api.app import create_app
from carhome.api.server import ApiServer
from carhome.http.problems import Problem
from carhome.wire.discovery import (
    address_file,
    clear_hub_address,
    read_hub_address,
    write_hub_address,
)

__all__ = [
    "ApiServer",
    "Problem",
    "address_file",
    "clear_hub_address",
    "create_app",
    "read_hub_address",
    "write_hub_address",
]
