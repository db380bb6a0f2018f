"""What the say tests share: the demo hub they talk to (started by ``conftest.demo``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class DemoHub:
    url: str
    owner: dict[str, Any]
    """the owner's tokens (``access_token`` …)"""
    data: Path

    def client(self, tokens: dict[str, Any] | None = None) -> httpx.AsyncClient:
        """An API client logged in with ``tokens`` (the owner's by default)."""
        token = (tokens or self.owner)["access_token"]
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
