"""A real Home Assistant for the tests: installed by scripts/ha-install, run as ``hass``.

``install()`` runs scripts/ha-install (a no-op once the venv is built) and returns the path
of ``hass`` or the reason it could not be had. ``RealHomeAssistant`` writes a minimal
configuration (no ``default_config``, so no onboarding, cloud, discovery or network
scans; the HTTP server on a loopback port) and an auth store holding one admin user with
a long-lived token, starts ``hass --skip-pip`` on it, and talks to it the way a user's
tools do: the REST API (states, services, the config flow that sets up MQTT) and the
WebSocket API (entity and device registries).

Home Assistant is another process with its own clock, so waiting on it means asking it
again until a deadline: ``until`` polls, and its deadline only bounds a broken run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import secrets
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[2]
HA_INSTALL = ROOT / "scripts" / "ha-install"

START_DEADLINE = 120.0  # a cold start on a busy 2-core machine, with a margin
DEADLINE = 30.0  # any one condition: an MQTT round trip through Home Assistant takes well under 1 s
POLL = 0.05

# Lines Home Assistant logs on every start of this minimal setup that say nothing about carhome.
BENIGN = (
    "Skipping pip installation of required modules",  # --skip-pip, on purpose
    "zlib_ng and isal are not available",  # optional speed-ups not installed
    "libturbojpeg",  # camera snapshots; no camera here
    "Unable to locate turbojpeg",
    "We found a custom integration",
)


@dataclass(frozen=True, slots=True)
class Installed:
    """What scripts/ha-install left: ``hass`` or the reason there is none, and how long it took."""

    hass: Path | None
    error: str
    seconds: float


def install() -> Installed:
    """Run scripts/ha-install; a missing venv is built (minutes), a built one is reused."""
    start = time.perf_counter()
    try:
        done = subprocess.run([str(HA_INSTALL)], capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Installed(
            None, f"scripts/ha-install did not run to the end: {exc}", time.perf_counter() - start
        )
    took = time.perf_counter() - start
    hass = Path(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    if done.returncode != 0 or hass is None or not hass.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return Installed(None, f"scripts/ha-install exited {done.returncode}:\n{tail}", took)
    return Installed(hass, "", took)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(issuer: str, key: str, lifetime: int) -> str:
    """An HS256 access token as Home Assistant's auth makes one for a refresh token.

    Its times are wall-clock seconds because Home Assistant checks them against its own
    clock; carhome's clock in these tests is a fake one and plays no part here.
    """
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": issuer, "iat": now, "exp": now + lifetime}).encode())
    signature = hmac.new(key.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


def provision_token(config_dir: Path) -> str:
    """Write an auth store with one admin and a long-lived refresh token; its access token.

    This is what "create a long-lived access token" in Home Assistant's profile page
    stores (token type ``long_lived_access_token``), written before the first start.
    """
    user, token_id, jwt_key = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(64)
    data = {
        "users": [
            {
                "id": user,
                "group_ids": ["system-admin"],
                "is_owner": True,
                "is_active": True,
                "name": "carhome tests",
                "system_generated": False,
                "local_only": False,
            }
        ],
        "groups": [{"id": "system-admin", "name": "Administrators"}],
        "credentials": [],
        "refresh_tokens": [
            {
                "id": token_id,
                "user_id": user,
                "client_id": None,
                "client_name": "carhome tests",
                "client_icon": None,
                "token_type": "long_lived_access_token",
                "created_at": "2025-01-01T00:00:00+00:00",
                "access_token_expiration": 10 * 365 * 86400.0,
                "token": secrets.token_hex(64),
                "jwt_key": jwt_key,
                "last_used_at": None,
                "last_used_ip": None,
                "expire_at": None,
                "credential_id": None,
                "version": None,
            }
        ],
    }
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "auth").write_text(json.dumps({"version": 1, "minor_version": 1, "key": "auth", "data": data}))
    return _jwt(token_id, jwt_key, 86400)


def configuration(port: int, lat: float, lon: float) -> str:
    """The smallest configuration.yaml Home Assistant starts from without asking anyone."""
    return (
        "homeassistant:\n"
        "  name: carhome test\n"
        f"  latitude: {lat}\n"
        f"  longitude: {lon}\n"
        "  elevation: 30\n"
        "  unit_system: metric\n"
        "  time_zone: Asia/Shanghai\n"
        "  country: CN\n"
        "  currency: CNY\n"
        "  language: en\n"
        "http:\n"
        "  server_host: 127.0.0.1\n"
        f"  server_port: {port}\n"
        "logger:\n"
        "  default: warning\n"
    )


class HomeAssistantFailed(AssertionError):
    """Home Assistant did not do what a test waited for; carries the tail of its log."""


class RealHomeAssistant:
    """``hass -c <config_dir>`` on a loopback port; an async context manager."""

    def __init__(self, hass: Path, config_dir: Path, port: int, *, lat: float, lon: float) -> None:
        self.hass = hass
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text(configuration(port, lat, lon))
        self.token = provision_token(config_dir)
        self.log_path = config_dir / "hass.out"
        self.startup_s = 0.0
        self._process: asyncio.subprocess.Process | None = None
        self._http = httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=DEADLINE
        )
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Self:
        start = time.perf_counter()
        with self.log_path.open("wb") as out:
            self._process = await asyncio.create_subprocess_exec(
                str(self.hass),
                "-c",
                str(self.config_dir),
                "--skip-pip",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        try:
            await self.until(self._running, "Home Assistant to start and say RUNNING", START_DEADLINE)
        except BaseException:
            await self.stop()
            raise
        self.startup_s = time.perf_counter() - start
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        process, self._process = self._process, None
        await self._http.aclose()
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _running(self) -> bool:
        if self._process is not None and self._process.returncode is not None:
            raise HomeAssistantFailed(f"hass exited with {self._process.returncode}\n{self.log_tail()}")
        try:
            response = await self._http.get("/api/config")
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.json().get("state") == "RUNNING"

    # -- waiting ------------------------------------------------------------------------

    async def until(
        self, check: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE
    ) -> None:
        """Ask ``check`` again until it says yes; fail with Home Assistant's log at the deadline."""
        end = time.monotonic() + deadline
        while not await check():
            if time.monotonic() > end:
                raise HomeAssistantFailed(f"waited {deadline:.0f} s for {what}\n{self.log_tail()}")
            # Real time: Home Assistant is another process, asked over HTTP; it has no events for us.
            await asyncio.sleep(POLL)

    async def state_until(
        self, entity_id: str, accept: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """The first state of ``entity_id`` that ``accept`` takes."""
        seen: dict[str, Any] = {}

        async def check() -> bool:
            nonlocal seen
            seen = await self.state(entity_id) or {}
            return bool(seen) and accept(seen)

        try:
            await self.until(check, f"{entity_id} {what}")
        except HomeAssistantFailed as exc:
            raise HomeAssistantFailed(f"{entity_id} is {seen.get('state')!r}, not {what}\n{exc}") from None
        return seen

    # -- the REST API -------------------------------------------------------------------

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        response = await self._http.get(f"/api/states/{entity_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def call(self, domain: str, service: str, **data: Any) -> None:
        response = await self._http.post(f"/api/services/{domain}/{service}", json=data)
        if response.status_code != 200:
            raise HomeAssistantFailed(
                f"{domain}.{service} {data}: HTTP {response.status_code} {response.text}"
            )

    async def setup_mqtt(self, host: str, port: int) -> dict[str, Any]:
        """Add the MQTT integration through its config flow, as a user does in the UI."""
        started = await self._http.post(
            "/api/config/config_entries/flow", json={"handler": "mqtt", "show_advanced_options": False}
        )
        started.raise_for_status()
        step = started.json()
        if step.get("step_id") != "broker":
            raise HomeAssistantFailed(f"the MQTT config flow asked for {step} instead of a broker")
        done = await self._http.post(
            f"/api/config/config_entries/flow/{step['flow_id']}", json={"broker": host, "port": port}
        )
        done.raise_for_status()
        result: dict[str, Any] = done.json()
        if result.get("type") != "create_entry" or result["result"]["state"] != "loaded":
            raise HomeAssistantFailed(f"the MQTT config flow ended with {result}\n{self.log_tail()}")
        return result

    # -- the WebSocket API --------------------------------------------------------------

    async def ws(self, command: str, **fields: Any) -> Any:
        """One WebSocket command's result (a fresh authenticated connection per call)."""
        async with connect(f"ws://127.0.0.1:{self.port}/api/websocket", max_size=None) as socket:
            await socket.recv()  # auth_required
            await socket.send(json.dumps({"type": "auth", "access_token": self.token}))
            auth = json.loads(await socket.recv())
            if auth.get("type") != "auth_ok":
                raise HomeAssistantFailed(f"Home Assistant refused the test token: {auth}")
            ident = next(self._ids)
            await socket.send(json.dumps({"id": ident, "type": command, **fields}))
            while True:
                reply = json.loads(await socket.recv())
                if reply.get("id") == ident and reply.get("type") == "result":
                    break
        if not reply.get("success"):
            raise HomeAssistantFailed(f"{command}: {reply.get('error')}")
        return reply["result"]

    async def entities(self) -> list[dict[str, Any]]:
        """The entity registry."""
        found: list[dict[str, Any]] = await self.ws("config/entity_registry/list")
        return found

    async def devices(self) -> list[dict[str, Any]]:
        """The device registry."""
        found: list[dict[str, Any]] = await self.ws("config/device_registry/list")
        return found

    # -- its log ------------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace").splitlines()
        return []

    def problems(self) -> list[str]:
        """Warnings and errors Home Assistant logged, but for those of every start of this setup.

        Each with the lines that follow it up to the next entry (its traceback), so a failing
        assertion says what Home Assistant raised and where.
        """
        found: list[str] = []
        following = False
        for line in self.log_lines():
            if line[:2].isdigit():  # an entry starts with its date
                following = (" WARNING " in line or " ERROR " in line or " CRITICAL " in line) and not any(
                    b in line for b in BENIGN
                )
                if following:
                    found.append(line)
            elif following:
                found[-1] += "\n" + line
        return found

    def log_tail(self, lines: int = 40) -> str:
        return "--- Home Assistant log (tail) ---\n" + "\n".join(self.log_lines()[-lines:])
