"""``PolicyGatekeeper``: the hub's one access decision, from the policy table, on record.

The command router asks it before it accepts any command (``carhome.hub.Gatekeeper``).
It reads who (``Command.member``) and where (``Command.face``), classes the command by
its action's safety domain, looks the combination up in the policy table, checks a
guest's grants against the injected clock, and — when configured — that a command in a
safety-critical domain carries a signature (the device verifies it; the hub cannot, and
only refuses to relay an unsigned one). Every decision, allowed or denied, is appended to
the audit log before it is returned; a grant use is counted only for allowed commands.
Administrative operations (managing members, enrolling keys) go through ``authorize``,
decided by the same table and recorded in the same log.

The signature rule is per domain and device: ``trust_unsigned`` records an owner's choice
that one device, which cannot verify signatures, takes unsigned commands of one domain of
``policy.TRUSTABLE`` (charging). The choice is decided like enrolling a key (an owner, from
the CLI or the API) and recorded; each unsigned command it lets through says so in the
audit log, and it holds only while that owner is an owner of the home.
"""

from __future__ import annotations

from typing import Final

from carhome.access.audit import AuditLog
from carhome.access.members import Member, Members
from carhome.access.policy import (
    ADMIN_SCOPES,
    ENROLL_KEYS,
    TRUSTABLE,
    Effect,
    Face,
    Policy,
    UnsignedTrust,
    scope_of,
)
from carhome.clock import Clock
from carhome.hub.commands import Command, Decision
from carhome.spec import DeviceSpec
from carhome.wire.members import Role

_FACES: Final = {f.value: f for f in Face}


class PolicyGatekeeper:
    """Implements ``carhome.hub.commands.Gatekeeper``."""

    def __init__(
        self,
        members: Members,
        audit: AuditLog,
        clock: Clock,
        *,
        policy: Policy | None = None,
        require_signatures: bool = True,
    ) -> None:
        self._members = members
        self._audit = audit
        self._clock = clock
        self._policy = policy or Policy()
        self._require_signatures = require_signatures
        self._unsigned: dict[tuple[str, str, str], UnsignedTrust] = {}
        self.decisions = 0

    async def decide(self, command: Command, spec: DeviceSpec) -> Decision:
        action = spec.actions.get(command.target) if command.kind == "action" else None
        domain = action.domain if action is not None else None
        scope = scope_of(command.kind, domain)
        decision, grant_id = self._judge(
            member_id=command.member,
            home=command.home,
            face=command.face,
            scope=scope,
            device=command.device,
            target=command.target,
            signed=command.signature is not None,
        )
        if decision.allowed and grant_id is not None:
            await self._members.use(command.member, grant_id)
        self.decisions += 1
        await self._audit.record_command(command, decision)
        return decision

    async def authorize(self, *, member: str, home: str, face: str, operation: str) -> Decision:
        """Decide an administrative ``operation`` (``manage_members``, ``enroll_keys``)."""
        if operation not in ADMIN_SCOPES:
            decision = Decision(False, f"unknown operation {operation!r}")
        else:
            decision = self._judge_admin(member, home, face, operation, device="-", target=operation)
        return await self._on_record(
            decision, home=home, member=member, face=face, device="-", target=operation
        )

    async def trust_unsigned(
        self, *, home: str, device: str, domain: str, owner: str, face: str = Face.CLI
    ) -> Decision:
        """Let ``device`` take unsigned ``domain`` commands, as ``owner`` decides; on record."""
        target = f"trust_unsigned:{domain}"
        if domain not in TRUSTABLE:
            decision = Decision(
                False,
                f"{domain} commands always need the member's signature; only {', '.join(TRUSTABLE)}"
                " may be trusted to a device that cannot verify them",
            )
        else:
            decision = self._judge_admin(owner, home, face, ENROLL_KEYS, device=device, target=target)
            member = self._members.get(owner)
            if decision.allowed and (member is None or member.role is not Role.OWNER):
                decision = Decision(
                    False, f"{owner} is not an owner of {home}; only an owner trusts a device"
                )
        if decision.allowed:
            self._unsigned[(home, device, domain)] = UnsignedTrust(
                home=home, device=device, domain=domain, owner=owner
            )
            decision = Decision(
                True, f"trust: {home}/{device} takes unsigned {domain} commands, as {owner} chose"
            )
        return await self._on_record(
            decision, home=home, member=owner, face=face, device=device, target=target
        )

    def trusts_unsigned(self, home: str, device: str, domain: str) -> bool:
        """Whether an owner (still one) trusted ``device`` with unsigned ``domain`` commands."""
        return self._trusted(home, device, domain) is not None

    def _trusted(self, home: str, device: str, domain: str) -> UnsignedTrust | None:
        trust = self._unsigned.get((home, device, domain))
        if trust is None:
            return None
        owner = self._members.get(trust.owner)
        if owner is None or owner.revoked or owner.home != home or owner.role is not Role.OWNER:
            return None  # the owner who chose it is gone: so is the trust
        return trust

    def _judge_admin(
        self, member: str, home: str, face: str, scope: str, *, device: str, target: str
    ) -> Decision:
        """Judge an administrative ``scope``: signed, as an admin request always is."""
        decision, _ = self._judge(
            member_id=member, home=home, face=face, scope=scope, device=device, target=target, signed=True
        )
        return decision

    async def _on_record(
        self, decision: Decision, *, home: str, member: str, face: str, device: str, target: str
    ) -> Decision:
        """Count an administrative ``decision`` and put it on the audit record; return it."""
        self.decisions += 1
        await self._audit.record(
            home=home, member=member, face=face, command="-", device=device, target=target, decision=decision
        )
        return decision

    def _judge(
        self,
        *,
        member_id: str,
        home: str,
        face: str,
        scope: str,
        device: str,
        target: str,
        signed: bool,
    ) -> tuple[Decision, str | None]:
        who = self._identify(member_id, home, face)
        if isinstance(who, str):
            return Decision(False, who), None
        member, where = who
        effect = self._policy.effect(member.role, scope, where)
        if effect is Effect.DENY:
            return Decision(False, f"policy: {member.role} may not {scope} from {face}"), None
        grant_id: str | None = None
        if effect is not Effect.ALLOW:
            grant_id = self._live_grant(member, device, target, named=effect is Effect.NAMED_GRANT)
            if grant_id is None:
                what = "naming" if effect is Effect.NAMED_GRANT else "covering"
                return Decision(False, f"no live grant {what} {target} on {device}"), None
        via = f"grant {grant_id}" if grant_id else f"{member.role} from {face}"
        if scope not in (*ADMIN_SCOPES, "ordinary") and self._require_signatures and not signed:
            trust = self._trusted(home, device, scope)
            if trust is None:
                return Decision(False, f"unsigned: a {scope} command needs the member's signature"), None
            return Decision(
                True,
                f"policy: {scope} allowed ({via}); unsigned: {home}/{device} is trusted for {scope}"
                f" without signatures by {trust.owner}",
            ), grant_id
        return Decision(True, f"policy: {scope} allowed ({via})"), grant_id

    def _identify(self, member_id: str, home: str, face: str) -> tuple[Member, Face] | str:
        """The member and face of a request, or why there is none to decide for."""
        where = _FACES.get(face)
        member = self._members.get(member_id)
        if where is None:
            return f"unknown face {face!r}"
        if member is None:
            return f"no member {member_id!r}"
        if member.home != home:
            return f"{member_id} is not a member of home {home!r}"
        if member.revoked:
            return f"{member_id} is revoked"
        return member, where

    def _live_grant(self, member: Member, device: str, target: str, *, named: bool) -> str | None:
        now = self._clock.time()
        for grant in member.grants:
            fits = grant.names(device, target) if named else grant.covers(device, target, critical=False)
            if fits and grant.live(now):
                return grant.id
        return None
