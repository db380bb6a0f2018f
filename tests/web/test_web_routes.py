"""The web app's files as the hub serves them: pages, assets, types, caching, and the API's
paths left to the API. Through ASGI against a real hub's app, as the hub process wires it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from carhome.api import create_app
from carhome.errors import ConfigError
from carhome.hub import Hub
from carhome.store import MemoryStore
from carhome.testing import FakeClock
from carhome.web import STATIC_DIR, WebApp, web_routes


@pytest.fixture
async def bare_hub(clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub with no home (this directory's ``hub`` is a demo hub for the browser tests)."""
    async with Hub(store=MemoryStore(), clock=clock) as hub:
        yield hub


@pytest.fixture
async def web(bare_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(bare_hub, member="alice")
    app.router.routes.extend(web_routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client


def built_asset(suffix: str) -> str:
    """The path of the built asset ending in ``suffix`` that index.html loads."""
    index = (STATIC_DIR / "index.html").read_text()
    [path] = re.findall(rf'"(/assets/[^"]+{re.escape(suffix)})"', index)
    return str(path)


@pytest.mark.parametrize("path", ["/", "/cabin", "/automations", "/devices/h1/car", "/login"])
async def test_every_page_path_is_the_app_never_cached(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<div id="app">' in r.text


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [(".js", "text/javascript; charset=utf-8"), (".css", "text/css; charset=utf-8")],
)
async def test_hashed_assets_have_their_type_and_are_cached_for_good(
    web: httpx.AsyncClient, suffix: str, content_type: str
) -> None:
    path = built_asset(suffix)
    r = await web.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.content == (STATIC_DIR / path.lstrip("/")).read_bytes()
    head = await web.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(r.content))


async def test_a_plain_file_is_cached_briefly(web: httpx.AsyncClient) -> None:
    r = await web.get("/favicon.svg")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "public, max-age=3600"


async def test_the_api_keeps_its_own_paths_and_problems(web: httpx.AsyncClient) -> None:
    assert (await web.get("/api/health")).json()["status"] == "ok"
    for method in ("GET", "POST", "DELETE"):
        r = await web.request(method, "/api/no-such-thing")
        assert r.status_code == 404, method
        assert r.headers["content-type"] == "application/problem+json"
        assert "the API lives under /api" in r.json()["detail"]


async def test_a_missing_file_is_not_answered_with_the_page(web: httpx.AsyncClient) -> None:
    r = await web.get("/assets/index-gone.js")
    assert r.status_code == 404
    assert "text/html" not in r.headers["content-type"]


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/assets/../../__init__.py", "/%2e%2e/__init__.py"])
async def test_no_path_reaches_outside_the_built_files(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert b"web_routes" not in r.content
    assert r.status_code in (200, 404)  # the page, or a 404: never the file


async def test_only_reading_is_allowed_on_pages(web: httpx.AsyncClient) -> None:
    r = await web.post("/cabin")
    assert r.status_code == 405
    assert r.json()["detail"] == "POST is not allowed on /cabin"


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="npm run build"):
        WebApp(tmp_path)


def test_the_built_files_hold_no_secret_and_no_outside_address() -> None:
    app = WebApp()
    assert any(f.startswith("assets/") and f.endswith(".js") for f in app.files)
    for name in (*app.files, "index.html"):
        text = (STATIC_DIR / name).read_bytes()
        # no CDN or tile server: the app loads nothing from elsewhere
        assert not re.search(rb"""(src|href)=["']https?://""", text), name
        assert b"tile.openstreetmap" not in text, name
        assert b"BEGIN PRIVATE KEY" not in text, name
