"""Changing a guest's grant over the API, and refusals that name the field at fault."""

from __future__ import annotations

import httpx

from api_auth import test_api_auth as auth
from carhome.testing import FakeClock

# the members API over the same hub, access and client as the other API tests
access, hub, client = auth.access, auth.hub, auth.client
bearer, login = auth.bearer, auth.login

PURIFIER_ON = {"kind": "action", "target": "turn_on", "wait": 5}


async def test_an_owner_changes_a_grant_in_place(client: httpx.AsyncClient, clock: FakeClock) -> None:
    owner = bearer(await login(client, "olivia"))
    now = clock.time()
    r = await client.post(
        "/api/members/gina/grants",
        json={"devices": ["purifier"], "targets": ["turn_off"], "starts": now, "ends": now + 60},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    grant = r.json()["id"]
    gina = bearer(await login(client, "gina"))
    refused = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=gina)
    assert refused.status_code == 403
    r = await client.put(
        f"/api/members/gina/grants/{grant}",
        json={"devices": ["purifier"], "targets": ["turn_on"], "starts": now, "ends": now + 7200},
        headers=owner,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["targets"], r.json()["ends"]) == (grant, ["turn_on"], now + 7200)
    [held] = next(m for m in (await client.get("/api/members", headers=owner)).json() if m["id"] == "gina")[
        "grants"
    ]
    assert held["id"] == grant
    allowed = await client.post("/api/devices/h1/purifier/commands", json=PURIFIER_ON, headers=gina)
    assert allowed.status_code == 200, allowed.text


async def test_a_bad_grant_is_refused_naming_its_field_and_the_old_one_stays(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    owner = bearer(await login(client, "olivia"))
    now = clock.time()
    good = {"devices": ["purifier"], "targets": ["turn_on"], "starts": now, "ends": now + 60}
    r = await client.post("/api/members/gina/grants", json=good, headers=owner)
    grant = r.json()["id"]
    for change, field in (
        ({"ends": now - 1}, "ends"),
        ({"devices": []}, "devices"),
        ({"targets": []}, "targets"),
        ({"uses": 0}, "uses"),
    ):
        for method, path in (
            ("POST", "/api/members/gina/grants"),
            ("PUT", f"/api/members/gina/grants/{grant}"),
        ):
            r = await client.request(method, path, json={**good, **change}, headers=owner)
            assert (r.status_code, r.json().get("field")) == (422, field), (method, change, r.text)
    listed = (await client.get("/api/members", headers=owner)).json()
    [held] = next(m for m in listed if m["id"] == "gina")["grants"]
    assert (held["id"], held["ends"]) == (grant, now + 60)


async def test_a_grant_change_needs_an_owner_and_a_grant_that_exists(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    owner = bearer(await login(client, "olivia"))
    fred = bearer(await login(client, "fred"))
    now = clock.time()
    body = {"devices": ["purifier"], "targets": ["turn_on"], "starts": now, "ends": now + 60}
    r = await client.put("/api/members/gina/grants/g-nothere", json=body, headers=owner)
    assert (r.status_code, r.json()["type"]) == (404, "urn:carhome:problem:unknown-grant")
    grant = (await client.post("/api/members/gina/grants", json=body, headers=owner)).json()["id"]
    r = await client.put(f"/api/members/gina/grants/{grant}", json=body, headers=fred)
    assert r.status_code == 403


async def test_a_new_member_refused_names_the_field(client: httpx.AsyncClient) -> None:
    owner = bearer(await login(client, "olivia"))
    r = await client.post(
        "/api/members", json={"id": "fred", "name": "Fred again", "role": "guest"}, headers=owner
    )
    assert (r.status_code, r.json()["field"]) == (422, "id")
    r = await client.post(
        "/api/members",
        json={"id": "gus", "name": "Gus", "role": "guest", "password": "short"},
        headers=owner,
    )
    assert (r.status_code, r.json()["field"]) == (422, "password")
