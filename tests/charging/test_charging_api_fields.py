"""A refused charging setting names the field at fault, so the web app marks that field."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "fast"}, "$.mode"),
        ({"departure": "25:00"}, "departure"),
        ({"departure": "2025-01-01T07:00:00+00:00", "target": 80}, "departure"),
        ({"target": 150}, "target"),
        ({"target": 150, "departure": "07:00"}, "target"),
    ],
)
async def test_a_bad_setting_is_refused_naming_its_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await api.put("/api/charging/h1/car", json=body)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text
