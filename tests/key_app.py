"""The hub's key routes served on their own, as a phone reaches them: an ASGI app that
answers carhome's errors as problem documents, as the API does, and a phone that talks to it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute

from carhome.errors import CarhomeError
from carhome.http import problems
from carhome.http.problems import Problem
from carhome.wire.keyclient import HubKeys, KeyRing, Phone


async def _on_problem(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, Problem)
    return exc.response()


async def _on_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, CarhomeError)
    return problems.problem_from(exc).response()


def key_app(routes: Sequence[BaseRoute]) -> Starlette:
    """An app of ``routes`` whose refusals come back as problem documents."""
    return Starlette(routes=list(routes), exception_handlers={Problem: _on_problem, CarhomeError: _on_error})


def phone(keys: Path, transport: httpx.ASGITransport, member: str) -> Phone:
    """A phone with its key in ``keys`` (made on first use) that asks as ``member``."""
    ring = KeyRing(keys)
    if not ring.key_path.exists():
        ring.create()
    return Phone(ring, HubKeys("http://hub", transport=transport, headers={"x-member": member}))
