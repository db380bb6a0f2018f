"""Helpers for the simulator's tests: a fake device link, spec checks, a stepping loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from carhome.errors import BrokerUnavailable
from carhome.sim import SimDevice
from carhome.spec import SPECS


def check_against_spec(device_type: str, values: Mapping[str, Any]) -> None:
    """Every value passes its property's check (raises ``InvalidValue`` otherwise)."""
    props = SPECS[device_type].properties
    for path, value in values.items():
        assert not props[path].derived, f"{path} is derived by the hub, a device never reports it"
        props[path].check(value)


def run(device: SimDevice, seconds: float, dt: float = 1.0) -> list[dict[str, Any]]:
    """Step ``device`` for ``seconds`` in steps of ``dt``; every report is spec-checked."""
    reports = []
    elapsed = 0.0
    while elapsed < seconds - 1e-9:
        h = min(dt, seconds - elapsed)
        changed = device.step(h)
        check_against_spec(device.type, changed)
        reports.append(changed)
        elapsed += h
    return reports


class FakeLink:
    """A ``DeviceLink`` that records what it was asked to publish, and can be made to fail."""

    def __init__(
        self, home: str, device: str, handler: Any, log: list[tuple[str, str, Any]], published: asyncio.Event
    ) -> None:
        self.home = home
        self.device = device
        self.handler = handler
        self.log = log
        self.published = published
        self.down = False
        self.open = False

    async def __aenter__(self) -> FakeLink:
        self.open = True
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.open = False

    async def publish_state(self, values: Mapping[str, Any], ts: float | None = None) -> None:
        if self.down:
            raise BrokerUnavailable("the fake broker is down")
        self.log.append((self.device, "state", dict(values)))
        self.published.set()

    async def publish_event(self, name: str, fields: Mapping[str, Any]) -> None:
        if self.down:
            raise BrokerUnavailable("the fake broker is down")
        self.log.append((self.device, "event", (name, dict(fields))))
        self.published.set()


class FakeLinks:
    """A link factory for ``SimRunner(links=...)`` keeping every link it made."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, Any]] = []
        self.published = asyncio.Event()
        self.links: dict[str, FakeLink] = {}

    def __call__(self, home: str, device: str, handler: Any) -> FakeLink:
        link = FakeLink(home, device, handler, self.log, self.published)
        self.links[device] = link
        return link

    def states(self, device: str) -> list[dict[str, Any]]:
        return [v for d, kind, v in self.log if d == device and kind == "state"]

    def events(self, device: str) -> list[tuple[str, dict[str, Any]]]:
        return [v for d, kind, v in self.log if d == device and kind == "event"]

    async def next_publish(self) -> None:
        """Wait until something more is published (a safety timeout, never a sleep)."""
        self.published.clear()
        await asyncio.wait_for(self.published.wait(), 5)
