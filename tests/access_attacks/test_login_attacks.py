"""Guessing passwords at a running hub: slow for the guesser, never a lock-out for the owner.

A real hub app on a uvicorn socket; the attacker is a process on the hub's machine (its
connections come from 127.0.0.1, which uvicorn's own proxy-header handling believes by
default) that sends a made-up ``X-Forwarded-For`` with every try; the owner logs in from
another address, interleaved. Time is the fake clock's.
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from attack_rig import serve

from carhome.access.service import Access
from carhome.compose.config import parse_config
from carhome.errors import ConfigError
from carhome.hub import Hub
from carhome.testing import FakeClock
from members_rig import PASSWORD

ATTACKER = "127.0.0.1"
OWNER = "127.0.0.3"


def spoofed(n: int) -> dict[str, str]:
    """A different made-up client address for try ``n``."""
    return {"x-forwarded-for": f"198.51.{n // 250}.{n % 250 + 1}"}


async def guess(client: httpx.AsyncClient, member: str, n: int) -> int:
    r = await client.post(
        "/api/auth/login", json={"member": member, "password": f"guess number {n}"}, headers=spoofed(n)
    )
    assert r.status_code in (401, 429), r.text
    return r.status_code


async def test_a_stranger_guessing_never_locks_the_owner_out(
    hub: Hub, access: Access, clock: FakeClock
) -> None:
    """One wrong try every 20 s at the owner's account, the owner logging in every minute."""
    minutes = 30
    checked = lockouts = owner_logins = 0
    async with (
        serve(hub, access) as served,
        served.client(ATTACKER) as attacker,
        served.client(OWNER) as owner,
    ):
        started = clock.time()
        for n in range(minutes * 3):
            checked += await guess(attacker, "olivia", n) == 401
            if n % 3 == 2:
                r = await owner.post("/api/auth/login", json={"member": "olivia", "password": PASSWORD})
                assert r.status_code in (200, 429), r.text
                owner_logins += 1
                lockouts += r.status_code == 429
            await clock.advance(20)
        elapsed = clock.time() - started
    bound = 5 + elapsed / 60  # five tries, then one a minute
    print(
        f"\nowner lock-outs: {lockouts} of {owner_logins} logins;"
        f" guesses checked: {checked} of {minutes * 3} in {elapsed:.0f} s"
        f" ({checked / elapsed:.3f}/s, bound {bound:.0f})"
    )
    assert lockouts == 0
    assert checked <= bound


async def test_forged_forwarding_headers_buy_no_more_guesses(
    hub: Hub, access: Access, clock: FakeClock
) -> None:
    """A burst of 200 tries at 40 accounts, each with a new made-up address, from one process."""
    members = itertools.cycle(["olivia", "fred", "gina", "nora", *(f"nobody{i}" for i in range(36))])
    async with (
        serve(hub, access) as served,
        served.client(ATTACKER) as attacker,
        served.client(OWNER) as owner,
    ):
        codes = [await guess(attacker, next(members), n) for n in range(200)]
        r = await owner.post("/api/auth/login", json={"member": "olivia", "password": PASSWORD})
    checked = codes.count(401)
    print(
        f"\nforged X-Forwarded-For: guesses checked {checked} of 200 (bound 20);"
        f" owner lock-outs: {int(r.status_code == 429)}"
    )
    assert checked <= 20
    assert r.status_code == 200, r.text


async def test_a_trusted_proxy_names_the_client_and_nobody_else_does(
    hub: Hub, access: Access, clock: FakeClock
) -> None:
    """Behind a reverse proxy at 127.0.0.2 each client counts by the address the proxy
    saw; an untrusted process writing the owner's address in the header counts as itself."""
    proxy, stranger = "127.0.0.2", "127.0.0.4"
    owner_at = {"x-forwarded-for": "203.0.113.9"}

    async def attempt(client: httpx.AsyncClient, member: str, forwarded: str, password: str) -> int:
        r = await client.post(
            "/api/auth/login",
            json={"member": member, "password": password},
            headers={"x-forwarded-for": forwarded},
        )
        return r.status_code

    async with (
        serve(hub, access, trusted_proxies=[proxy]) as served,
        served.client(proxy) as via_proxy,
        served.client(stranger) as direct,
    ):
        # A client behind the proxy guesses at fred: 5 tries, then one a minute, counted
        # against the address the proxy saw (the last hop), …
        behind = [await attempt(via_proxy, "fred", "192.0.2.66, 10.1.1.1", f"guess {n}") for n in range(8)]
        # … not against the address the client wrote itself.
        elsewhere = await attempt(via_proxy, "fred", "192.0.2.66", "guess x")
        # A process on the hub's machine writes the owner's address: it counts as itself, …
        posing = [await attempt(direct, "olivia", "203.0.113.9", f"guess {n}") for n in range(8)]
        # … so the owner, at that address behind the proxy, is not held back.
        owner = await attempt(via_proxy, "olivia", owner_at["x-forwarded-for"], PASSWORD)
    print(
        f"\ntrusted proxy: guesses checked from one client behind it {behind.count(401)} of 8,"
        f" from a process posing as the owner {posing.count(401)} of 8;"
        f" owner lock-outs: {int(owner != 200)}"
    )
    assert behind == [401] * 5 + [429] * 3
    assert elsewhere == 401
    assert posing == [401] * 5 + [429] * 3
    assert owner == 200


def test_trusted_proxies_are_addresses_or_networks() -> None:
    config = parse_config("api:\n  trusted_proxies: [127.0.0.1, 10.0.0.0/8, '::1']\n")
    assert config.api.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert parse_config("api: {}\n").api.trusted_proxies == ()  # nobody's header is believed
    with pytest.raises(ConfigError) as bad:
        parse_config(
            "api:\n  port: 8780\n  trusted_proxies:\n    - 127.0.0.1\n    - my-proxy\n", file="c.yaml"
        )
    assert (bad.value.line, "api.trusted_proxies[1]" in str(bad.value)) == (5, True)
    assert "'my-proxy' is not an address or network" in str(bad.value)
