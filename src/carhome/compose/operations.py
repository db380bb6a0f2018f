"""Every HTTP operation of the hub, collected from the parts that declare them, and its description.

``OPERATIONS`` is what ``/api/openapi.json`` lists and ``carhome openapi`` writes, in the
order the description lists them: the API's own, then each part's.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from carhome.access import bearer, keyroutes
from carhome.access import routes as members
from carhome.api import local, openapi
from carhome.automations import routes as automations
from carhome.compose import setup
from carhome.energy import routes as charging
from carhome.history import routes as history
from carhome.http.operations import Operation
from carhome.say import routes as say

OPERATIONS: Final[tuple[Operation[Any], ...]] = (
    *local.OPERATIONS,
    *bearer.OPERATIONS,
    *members.OPERATIONS,
    *charging.OPERATIONS,
    *history.OPERATIONS,
    *keyroutes.OPERATIONS,
    *automations.READ_OPERATIONS,
    *automations.CHANGE_OPERATIONS,
    *automations.SCENE_OPERATIONS,
    *say.OPERATIONS,
    *setup.OPERATIONS,
)
"""Every operation of the hub's API: what the description lists."""


@functools.cache
def document_bytes() -> bytes:
    """The description of every operation, as served and written."""
    return openapi.document(OPERATIONS)
