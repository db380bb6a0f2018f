"""The browser signs safety-critical commands itself (web/src/signing, docs/signing.md).

Against a real demo hub in headless Chromium, as the owner: the browser's key is made
(non-extractable, in IndexedDB), enrolled on the garage with the code from the hub's
screen, and the cabin view's garage button then sends a signed command the simulated
garage verifies and runs; a reload keeps the key; a tampered signature is refused by the
device. The TypeScript protocol reproduces docs/signing-vectors.json byte for byte.

The hub and browser fixtures and the page helpers are those of conftest.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from playwright.async_api import Browser, Page, expect

import carhome.web
from carhome.signing.keys import PublicKey
from web.conftest import Hub, client_of, live, page_of, shot

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "signing-vectors.json").read_text())
REVOKE_VECTORS = json.loads((ROOT / "docs" / "signing-revoke-vectors.json").read_text())
GARAGE = "garage_door"


def signing_module() -> str:
    """The URL path of the built signing library (its own entry in the Vite build)."""
    assets = Path(carhome.web.__file__).parent / "static" / "assets"
    found = sorted(assets.glob("signing-*.js"))
    assert len(found) == 1, f"expected one built signing entry in {assets}, found {found}; run npm run build"
    return f"/assets/{found[0].name}"


# Every phone-side computation of the vectors, in the page, returned as hex for comparison.
PHONE_SIDE = """
async ([path, v, r]) => {
  const m = await import(path);
  const h = m.fromHex, hex = m.toHex;
  const out = {};
  const phone = await m.keyFromScalar(h(v.phone.private_scalar), h(v.phone.public));
  const devicePoint = h(v.device.public), epoch = h(v.device.epoch);
  const home = v.device.home, device = v.device.device;
  out.key_id = hex(await m.keyId(phone.point));
  out.ecdh_secret = hex(await m.ecdh(phone, devicePoint));
  out.hkdf_info = hex(m.sessionContext(home, device, epoch, phone.point, devicePoint));
  const keys = await m.deriveSessionKeys(phone, devicePoint, home, device, epoch);
  out.command_key = hex(keys.command);
  out.info_key = hex(keys.info);
  const si = v.session_info, nonce = h(si.request.nonce);
  const info = { home, device, deviceKey: devicePoint, epoch, clock: si.clock, counter: si.counter };
  const infoT = m.sessionInfoTranscript(info, phone.point, nonce);
  out.info_transcript = hex(infoT);
  out.info_tag = hex(await m.mac(keys.info, infoT));
  const refusal = async (f) => { try { await f(); return "opened"; } catch (e) { return e.reason; } };
  const good = { ...info, tag: h(si.tag) };
  out.open_good = await refusal(() => m.PhoneSession.open(phone, devicePoint, nonce, good, 0));
  const badTag = h(si.tag); badTag[0] ^= 1;
  const bad = { ...info, tag: badTag };
  out.open_bad_tag = await refusal(() => m.PhoneSession.open(phone, devicePoint, nonce, bad, 0));
  const otherNonce = h(si.request.nonce); otherNonce[15] ^= 1;
  out.open_other_nonce = await refusal(() => m.PhoneSession.open(phone, devicePoint, otherNonce, good, 0));
  const other = h(v.enrollment.new_key);
  out.open_other_pin = await refusal(() => m.PhoneSession.open(phone, other, nonce, good, 0));
  out.commands = [];
  for (const c of v.commands) {
    const f = c.fields;
    const fields = { id: f.id, home: f.home, device: f.device, kind: f.kind, target: f.target,
                     args: f.args, member: f.member, expires: f.expires };
    const floats = new Set(Object.keys(f.args).filter((k) => typeof f.args[k] === "number"));
    const t = m.commandTranscript(fields, { domain: c.domain, epoch, expiresAt: c.expires_at,
                                            counter: c.counter, floats });
    const tag = await m.mac(keys.command, t);
    const envelope = m.encodeEnvelope({ keyId: await m.keyId(phone.point), epoch, counter: c.counter,
                                        expiresAt: c.expires_at, domain: c.domain, tag });
    // the same through a session: the device last accepted counter - 1, its clock at 120 s
    const at = { ...info, counter: c.counter - 1 };
    const sessionTag = await m.mac(keys.info, m.sessionInfoTranscript(at, phone.point, nonce));
    const s = await m.PhoneSession.open(phone, devicePoint, nonce, { ...at, tag: sessionTag }, 1000);
    const signed = await s.sign(fields, { domain: c.domain || null, now: 1000.75,
                                          ttl: c.expires_at - si.clock - 0.5, floats });
    out.commands.push({ transcript: hex(t), tag: hex(tag), signature: envelope, session_signature: signed });
  }
  out.whole_float = m.canonicalArgs({ b: 21, a: "x" }, new Set(["b"]));
  const e = v.enrollment;
  const challenge = { home, device, deviceKey: devicePoint, nonce: h(e.nonce) };
  const newKey = await m.keyFromScalar(h(e.new_private_scalar), h(e.new_key));
  out.approval_transcript = hex(m.enrollmentTranscript(challenge, newKey.point, e.role, e.member));
  out.presence_transcript = hex(m.presenceTranscript(challenge, newKey.point, e.role, e.member, e.code));
  out.approval = hex(await m.approve(phone, challenge, newKey.point, e.role, e.member));
  out.proof = hex(await m.presenceProof(newKey, challenge, e.role, e.member, e.code));
  const rv = r.revocation;
  out.revoke_transcript = hex(m.revokeTranscript(rv.home, rv.device, h(rv.revoked_key), h(rv.device_key)));
  out.der_round_trip = hex(m.derFromRaw(m.rawFromDer(h(rv.signature_der))));
  out.der_verifies = await m.verifyDer(h(rv.owner_key), h(rv.signature_der), h(rv.transcript));
  return out;
}
"""


def verifies(point_hex: str, der_hex: str, data_hex: str) -> bool:
    """Checked by Python's cryptography, as a device checks it."""
    return PublicKey(bytes.fromhex(point_hex)).verify(bytes.fromhex(der_hex), bytes.fromhex(data_hex))


async def test_web_signing_the_typescript_reproduces_the_vectors(browser: Browser, hub: Hub) -> None:
    v = VECTORS
    async with page_of(browser, hub) as page:
        await page.goto("/")
        out: dict[str, Any] = await page.evaluate(PHONE_SIDE, [signing_module(), v, REVOKE_VECTORS])
    assert out["key_id"] == v["phone"]["key_id"]
    session = v["session"]
    assert (out["ecdh_secret"], out["hkdf_info"]) == (session["ecdh_secret"], session["hkdf_info"])
    assert (out["command_key"], out["info_key"]) == (session["command_key"], session["info_key"])
    info = v["session_info"]
    assert (out["info_transcript"], out["info_tag"]) == (info["transcript"], info["tag"])
    assert out["open_good"] == "opened"
    assert out["open_bad_tag"] == "bad_session_tag"
    assert out["open_other_nonce"] == "bad_session_tag"
    assert out["open_other_pin"] == "wrong_device_key"
    for got, want in zip(out["commands"], v["commands"], strict=True):
        assert got["transcript"] == want["transcript"], want["fields"]["target"]
        assert got["tag"] == want["tag"], want["fields"]["target"]
        assert got["signature"] == want["signature"], want["fields"]["target"]
        assert got["session_signature"] == want["signature"], want["fields"]["target"]
    assert out["whole_float"] == msgspec.json.encode({"a": "x", "b": 21.0}, order="sorted").decode()
    e = v["enrollment"]
    assert out["approval_transcript"] == e["approval_transcript"]
    assert out["presence_transcript"] == e["presence_transcript"]
    # ECDSA signatures are randomised: the device's own check decides
    assert verifies(v["phone"]["public"], out["approval"], e["approval_transcript"])
    assert verifies(e["new_key"], out["proof"], e["presence_transcript"])
    assert not verifies(e["new_key"], out["approval"], e["approval_transcript"])
    r = REVOKE_VECTORS["revocation"]
    assert out["revoke_transcript"] == r["transcript"]
    assert out["der_round_trip"] == r["signature_der"]
    assert out["der_verifies"] is True


async def enroll_on_the_garage(page: Page, hub: Hub) -> str:
    """Make this browser's key and enroll it on the garage with the hub's code; its id."""
    await page.goto(f"/keys?device={GARAGE}")
    await live(page)
    await page.get_by_role("button", name="Make this browser's key").click()
    key_id = await page.get_by_test_id("sign-key-id").inner_text()
    assert re.fullmatch(r"[0-9a-f]{32}", key_id), key_id
    card = page.get_by_test_id("sign-device")
    await expect(card).to_have_attribute("data-device", GARAGE)
    await expect(card.get_by_test_id("sign-state")).to_have_attribute("data-enrolled", "no")
    await card.get_by_role("button", name="Start enrollment").click()
    await card.get_by_role("button", name="Show the code from the hub").click()
    await expect(card.get_by_label("Code shown on the device")).to_have_value(re.compile(r"^\d{6}$"))
    await card.get_by_role("button", name="Enroll", exact=True).click()
    await expect(page.get_by_test_id("sign-message")).to_have_text("Enrolled on Garage door.")
    await expect(card.get_by_test_id("sign-state")).to_have_attribute("data-enrolled", "yes")
    mine = card.locator('tr[data-mine="yes"]')
    await expect(mine).to_have_attribute("data-key", key_id)
    await expect(mine).to_contain_text("owner")
    await shot(page, hub, "keys")
    return key_id


async def press_the_garage(page: Page, expect_state: str) -> None:
    """Press the cabin's garage button; the signed command is acked, the state follows live."""
    tile = page.get_by_test_id("cabin-garage")
    await tile.get_by_role("button").click()
    await expect(tile.locator(".cmd")).to_have_attribute("data-status", "acked")
    await expect(tile.locator(".tile-state")).to_have_text(re.compile(expect_state))


async def test_web_signing_enroll_then_open_the_garage_from_the_cabin(browser: Browser, hub: Hub) -> None:
    async with page_of(browser, hub, hub.session) as page:
        # without a key the hub refuses, and the page says what to do about it
        await page.goto("/cabin")
        await live_cabin(page)
        tile = page.get_by_test_id("cabin-garage")
        before = await tile.locator(".tile-state").inner_text()
        await tile.get_by_role("button").click()
        await expect(tile.locator(".cmd")).to_have_attribute("data-status", "denied")
        hint = tile.get_by_role("link", name="Enroll this browser's key on Garage door first")
        await hint.click()
        await expect(page).to_have_url(re.compile(r"/keys\?device=garage_door$"))

        key_id = await enroll_on_the_garage(page, hub)
        await page.goto("/cabin")
        await live_cabin(page)
        opens = before.strip() != "open"
        await press_the_garage(page, r"^open(ing)?$" if opens else r"^clos(ed|ing)$")
        audit = await owner_api(hub, "GET", "/api/audit?limit=20")
        assert any(
            e["target"] == ("open" if opens else "close") and e["device"] == GARAGE for e in audit["entries"]
        )

        # a reload keeps the key (IndexedDB) and still signs
        await page.reload()
        await live_cabin(page)
        await press_the_garage(page, r"^clos(ed|ing)$" if opens else r"^open(ing)?$")

        # a spoken-style request the hub may not sign is signed here and sent
        box = page.get_by_test_id("cabin-say")
        await box.get_by_role("textbox").fill("open the garage" if opens else "close the garage")
        await box.get_by_role("button", name="Send").click()
        answer = page.get_by_test_id("say-answer")
        await expect(answer).to_contain_text("Signed with this browser's key and sent")
        await expect(answer.locator(".cmd")).to_have_attribute("data-status", "acked")
        await expect(page.get_by_test_id("cabin-garage").locator(".tile-state")).to_have_text(
            re.compile(r"^open(ing)?$" if opens else r"^clos(ed|ing)$")
        )
        await page.goto("/keys?device=garage_door")
        await expect(page.get_by_test_id("sign-key-id")).to_have_text(key_id)

        # a tampered signature is refused by the garage itself
        failed = await page.evaluate(TAMPERED, [signing_module(), GARAGE])
        assert failed["status"] == "failed", failed
        assert failed["error"].startswith(("bad_tag", "malformed")), failed

        # the last owner's key cannot be removed; the device says why
        card = page.get_by_test_id("sign-device")
        await card.get_by_role("button", name="Remove this browser's key").click()
        await expect(page.get_by_test_id("sign-message")).to_contain_text("last_owner")


# Sign a real garage command in the page, flip one character of the tag, submit, wait.
TAMPERED = """
async ([path, device]) => {
  const m = await import(path);
  const home = "yizhuang";
  const command = { kind: "action", target: "close", args: {}, domain: "garage" };
  const body = await m.hub.sign(home, device, command);
  const s = body.signature;
  const at = s.length - 12;
  body.signature = s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
  const sent = await m.hub.submit(home, device, body);
  const token = JSON.parse(localStorage.getItem("carhome.session")).access_token;
  const headers = { Authorization: `Bearer ${token}` };
  const r = await fetch(`/api/commands/${sent.id}?wait=20`, { headers });
  return await r.json();
}
"""


async def live_cabin(page: Page) -> None:
    """The cabin has no live badge; its garage tile shows a known state once loaded."""
    await expect(page.get_by_test_id("cabin-garage").locator(".tile-state")).to_have_text(
        re.compile(r"^(open|closed|opening|closing|stopped)$")
    )


async def owner_api(hub: Hub, method: str, path: str) -> Any:
    async with client_of(hub) as client:
        response = await client.request(method, path)
        response.raise_for_status()
        return response.json()
