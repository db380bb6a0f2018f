"""What a connector shows of a face's rights is the policy table's word, declared apart.

The Home Assistant bridge declares the scopes its face may command (``HA_SCOPES``) as data,
so the connector imports no access part; this keeps that data equal to the table.
"""

from __future__ import annotations

from carhome.access.policy import ORDINARY, POLICY, SAFETY_DOMAINS, Face, Policy, Rule, scopes_of
from carhome.connectors.homeassistant import HA_SCOPES
from carhome.spec.devices import GARAGE
from carhome.wire.members import Role


def test_home_assistant_is_offered_the_scopes_the_policy_gives_its_face() -> None:
    assert scopes_of(Face.HOMEASSISTANT) == HA_SCOPES == frozenset({ORDINARY})


def test_the_scopes_of_a_face_follow_the_table() -> None:
    opened = Policy((*POLICY, Rule(Role.OWNER, (GARAGE,), (Face.HOMEASSISTANT,), POLICY[0].effect, "test")))
    assert scopes_of(Face.HOMEASSISTANT, opened) == {ORDINARY, GARAGE}
    assert scopes_of(Face.AUTOMATION) == {ORDINARY, *SAFETY_DOMAINS}  # an owner's automations
