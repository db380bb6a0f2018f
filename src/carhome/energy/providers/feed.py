"""A provider kept fresh for one home: refreshed on its schedule, cached, failing soft.

``Feed`` is an async context manager. On entry it reads the cached last good series (so a
hub started during an outage still plans, with the data's true age) and hands it to its
listeners; then a named task asks the provider whenever the provider's schedule says
(``Provider.next_refresh``), with the hub's clock.

A failed refresh never takes the series away: the listeners keep the last good one and
``status()`` says how old it is and why it is stale — the charging page's warning. An
outage (no answer, HTTP 5xx, a refused token) is retried with the hub's one ``Backoff``
(about one, two, four … minutes, at most an hour, jittered so homes do not ask in step;
never sooner than the provider asked) and logged once per reason until it ends. An answer
that is not the documented format is bad input: counted in the hub's rejections under
``{provider}_{code}`` (``carhome rejections``) and logged there once per cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import httpx

from carhome.backoff import Backoff
from carhome.clock import sleep_or_wake
from carhome.energy.providers import cache
from carhome.energy.providers.fetching import new_client
from carhome.energy.providers.source import BadAnswer, Provider, ProviderError
from carhome.errors import InvalidChange
from carhome.hub import Hub
from carhome.prices.series import SlotSeries
from carhome.wire.charging import SourceOut

log: Final = logging.getLogger(__name__)

RETRY: Final = Backoff(first=60.0, most=3600.0)


SourceStatus = SourceOut
"""What a feed's data is and how old: the API's own struct, for the charging page."""


class Feed:
    """One provider for one home; listeners get every new good series."""

    def __init__(
        self,
        provider: Provider,
        *,
        hub: Hub,
        home: str,
        cache_file: Path | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.provider = provider
        self.hub = hub
        self.home = home
        self.cache_file = cache_file
        self._client = client
        self._own_client = client is None
        self._listeners: list[Callable[[SlotSeries], None]] = []
        self.series: SlotSeries | None = None
        self.fetched_at: float | None = None
        self.error: str | None = None
        self.failures = 0  # in a row
        self._retries: Iterator[float] = RETRY.delays()
        self.next_at = 0.0
        self.attempts = 0
        self.refreshed = asyncio.Event()
        """Set after every refresh, good or not (tests and faces wait on it, never on time)."""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def subscribe(self, listener: Callable[[SlotSeries], None]) -> None:
        """Call ``listener`` with every new good series (at once with the one in hand)."""
        self._listeners.append(listener)
        if self.series is not None:
            listener(self.series)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._client is None:
            self._client = new_client()
        if self.cache_file is not None:
            found = await asyncio.to_thread(cache.read, self.cache_file, self.provider.name)
            if found is not None:
                self._take(found.series(), found.fetched_at)
        self._task = asyncio.create_task(self._run(), name=f"energy-{self.home}-{self.provider.name}")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def refresh_now(self) -> None:
        """Ask the provider at once (a person pressed refresh, or a test)."""
        self.next_at = 0.0
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        clock = self.hub.clock
        while True:
            if self.next_at > clock.time():
                await sleep_or_wake(self._sleep_until(self.next_at), self._wake, name="energy-feed")
                if self.next_at > clock.time():
                    continue
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end the feed: the plan keeps its data
                log.exception("energy %s/%s: refresh failed", self.home, self.provider.name)
                self._failed("internal error (see the log)", None)

    async def _sleep_until(self, at: float) -> None:
        # the wait is measured when the sleep begins, so time that moved meanwhile counts
        clock = self.hub.clock
        await clock.sleep(max(0.0, at - clock.time()))

    async def refresh(self) -> None:
        """Ask the provider once and keep what it gives, or keep what was there."""
        if self._client is None:
            raise RuntimeError("enter the feed before refreshing it")
        clock = self.hub.clock
        now = clock.time()
        self.attempts += 1
        try:
            series = await self.provider.fetch(self._client, datetime.fromtimestamp(now, UTC))
        except BadAnswer as exc:
            self.hub.rejections.record(
                InvalidChange(
                    home=self.home,
                    device=self.provider.name,
                    prop=self.provider.kind,
                    code=f"{self.provider.name}_{exc.code}",
                    reason=exc.reason,
                )
            )
            self._failed(f"an answer carhome cannot use: {exc.reason}", None)
        except ProviderError as exc:
            if exc.reason != self.error:  # once per reason, until it ends
                log.warning(
                    "%s for %s: %s; the plan keeps %s",
                    self.provider.title,
                    self.home,
                    exc.reason,
                    "no data" if self.series is None else f"the data of {self._fetched_text()}",
                )
            self._failed(exc.reason, exc.retry_after)
        else:
            if self.error is not None:
                log.info("%s for %s answers again", self.provider.title, self.home)
            self._take(series, now)
            self.error = None
            self.failures = 0
            self._retries = RETRY.delays()  # the next outage starts again from a minute
            nxt = self.provider.next_refresh(datetime.fromtimestamp(now, UTC), series)
            self.next_at = max(now + 1.0, nxt.timestamp())
            if self.cache_file is not None:
                try:
                    await asyncio.to_thread(cache.write, self.cache_file, self.provider.name, now, series)
                except OSError as exc:
                    log.warning("cannot keep %s's data in %s: %s", self.provider.title, self.cache_file, exc)
        finally:
            self.refreshed.set()

    def _take(self, series: SlotSeries, fetched_at: float) -> None:
        self.series, self.fetched_at = series, fetched_at
        for listener in self._listeners:
            listener(series)

    def _failed(self, reason: str, retry_after: float | None) -> None:
        now = self.hub.clock.time()
        self.error = reason
        pause = next(self._retries)
        self.failures += 1
        self.next_at = now + max(pause, retry_after or 0.0)

    def _fetched_text(self) -> str:
        if self.fetched_at is None:
            return "never"
        return datetime.fromtimestamp(self.fetched_at, UTC).isoformat(timespec="minutes")

    # -- what it says -------------------------------------------------------------------

    def status(self) -> SourceStatus:
        """The data in hand, its age, and a warning when the last refresh failed."""
        now = self.hub.clock.time()
        age = None if self.fetched_at is None else max(0.0, now - self.fetched_at)
        stale = self.error is not None or self.series is None
        warning = None
        title = self.provider.title
        what = "prices" if self.provider.kind == "prices" else "the solar forecast"
        if self.series is None:
            warning = f"no {what} from {title} yet" + (f": {self.error}" if self.error else "")
        elif self.error is not None:
            warning = f"{title}: {self.error}; planning with {what} fetched {_ago(age or 0.0)} ago"
        return SourceStatus(
            provider=self.provider.name,
            title=title,
            kind=self.provider.kind,
            fetched_at=None if self.fetched_at is None else datetime.fromtimestamp(self.fetched_at, UTC),
            age_s=None if age is None else round(age, 1),
            known_until=None if self.series is None else self.series.end,
            stale=stale,
            error=self.error,
            warning=warning,
        )


def _ago(seconds: float) -> str:
    span = timedelta(seconds=int(seconds))
    if span < timedelta(minutes=1):
        return f"{span.seconds} s"
    if span < timedelta(hours=2):
        return f"{span.seconds // 60} min"
    hours = span.days * 24 + span.seconds // 3600
    return f"{hours} h"
