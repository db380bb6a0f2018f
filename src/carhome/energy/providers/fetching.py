"""One GET or POST to a provider, bounded, with httpx's failures translated at this edge.

An answer is read up to ``MAX_BYTES`` (a week of quarter-hour prices is a few hundred
kilobytes in the most verbose format); past that it is refused, not decoded. Timeouts,
refused connections, TLS failures and HTTP errors become ``ProviderError`` with a reason
a person can act on; the token in a URL never reaches a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from carhome.energy.providers.source import BadAnswer, ProviderError

MAX_BYTES: Final = 2 * 1024 * 1024
TIMEOUT: Final = httpx.Timeout(15.0, connect=10.0)
USER_AGENT: Final = "carhome (charging planner)"


def new_client() -> httpx.AsyncClient:
    """The client the providers share: bounded timeouts, no cookies kept between providers."""
    return httpx.AsyncClient(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT}, follow_redirects=True)


async def get_bytes(
    client: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    ok: tuple[int, ...] = (200,),
) -> tuple[int, bytes]:
    """The status and body of one request; statuses outside ``ok`` are an outage."""
    try:
        async with client.stream(method, url, params=params, headers=headers, json=json) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise BadAnswer(provider, "too_large", f"the answer is larger than {MAX_BYTES} bytes")
            status = response.status_code
            retry_after = response.headers.get("retry-after")
    except httpx.TimeoutException as exc:
        raise ProviderError(provider, "no answer in time; it will be asked again") from exc
    except httpx.HTTPError as exc:
        # the exception's text may quote the URL, and the URL may carry a token: say only what happened
        raise ProviderError(provider, f"cannot reach it ({type(exc).__name__}); check the network") from exc
    if status not in ok:
        raise ProviderError(provider, _status_reason(status), retry_after=_seconds(retry_after))
    return status, bytes(body)


def _status_reason(status: int) -> str:
    if status in (401, 403):
        return f"HTTP {status}: the token was refused; check it in the energy section of the config"
    if status == 429:
        return "HTTP 429: too many requests; asking again later"
    if status >= 500:
        return f"HTTP {status}: the service has trouble; asking again later"
    return f"HTTP {status}: the request was refused"


def _seconds(value: str | None) -> float | None:
    """A Retry-After given in seconds (the HTTP-date form is left to the backoff)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())
