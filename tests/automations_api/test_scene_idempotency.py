"""``Idempotency-Key`` on ``POST /api/scenes/{id}/apply``: a retry is the same commands.

Each command's id is derived from the member, the key and its place in the scene, so a
client that got no answer and applies the scene again under the same key gets the commands
the first request made, and the devices hear each once; another scene under the same key is
refused.
"""

from __future__ import annotations

from api_rig import Rig


async def test_a_scene_applied_again_under_the_same_key_is_the_same_commands(rig: Rig) -> None:
    owner = await rig.login("olivia")
    keyed = {**owner, "Idempotency-Key": "evening-1"}
    first = await rig.http.post("/api/scenes/evening/apply", headers=keyed)
    assert first.status_code == 200, first.text
    made = [c["id"] for c in first.json()["commands"]]
    await rig.devices.until(lambda got: len(got) >= len(made))
    again = await rig.http.post("/api/scenes/evening/apply", headers=keyed)
    assert again.status_code == 200, again.text
    assert [c["id"] for c in again.json()["commands"]] == made
    other = await rig.http.post("/api/scenes/away/apply", headers=keyed)
    assert other.status_code == 422, other.text
    assert other.json()["type"].endswith(":idempotency-key-reused")
    # Without a key each apply is new commands, as before.
    plain = await rig.http.post("/api/scenes/evening/apply", headers=owner)
    await rig.devices.until(lambda got: len(got) >= 2 * len(made))
    received = [c.id for c in rig.devices.received]
    keyed_sent = len([i for i in received if i in made])
    print(f"scene applied twice under one key: {keyed_sent} commands sent for {2 * len(made)} asked")
    assert sorted(received) == sorted(made + [c["id"] for c in plain.json()["commands"]])
    assert len(set(received)) == 2 * len(made)
