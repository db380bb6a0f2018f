"""Answering: a sentence understood against the live model, carried out through the hub.

``Say(hub).say(text, member=…, home=…)`` reads the home's devices and specs from the hub,
understands the sentence (``carhome.say.matcher``), answers questions from live state,
and submits commands as the calling member — so the gatekeeper decides and the audit
records it exactly as for any other face — then, if asked to, waits for the device's
acknowledgement and answers with how it ended. With ``sees`` it tells only what the
asker may read: a guest's request is understood against the devices their grants show,
and an answer never tells a property they may not read — but a command on a device they
do not see still goes to the gatekeeper, which refuses it and puts it on record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from carhome.errors import CommandDenied, CommandTimeout, InvalidCommand
from carhome.hub import Hub
from carhome.say import answers
from carhome.say.lexicon import Language
from carhome.say.matcher import Understanding, state_props, understand
from carhome.say.structs import DeviceRef, Proposal, SayResult
from carhome.say.vocabulary import Thing, Vocabulary

DEFAULT_TTL = 30.0

Sees = Callable[[str, str | None], bool]
"""(device, property or None for the device itself) → whether the asker may read it."""


class Say:
    """Natural-language requests for the homes of one hub."""

    def __init__(self, hub: Hub, *, face: str = "api", ttl: float = DEFAULT_TTL) -> None:
        self.hub = hub
        self.face = face
        self.ttl = ttl

    def understand(
        self,
        text: str,
        home: str,
        language: Language | None = None,
        here: str | None = None,
        sees: Sees | None = None,
    ) -> Understanding:
        """What ``text`` asks of ``home`` now (nothing is executed)."""
        hub = self.hub
        things = [
            Thing(d, hub.spec(home, d.id)) for d in hub.devices(home) if sees is None or sees(d.id, None)
        ]
        return understand(text, things, language, here)

    async def say(
        self,
        text: str,
        *,
        member: str,
        home: str,
        language: Language | None = None,
        wait: float = 0.0,
        here: str | None = None,
        sees: Sees | None = None,
    ) -> SayResult:
        """Understand ``text`` and answer it, acting as ``member`` in ``home`` and knowing
        only what ``sees`` shows (everything without it)."""
        u = self.understand(text, home, language, here, sees)
        if sees is not None and u.outcome not in ("command", "question"):
            every = self.understand(text, home, language, here)
            if every.outcome == "command":
                u = every  # the gatekeeper's to refuse, on record, as on any face
        vocab = u.vocabulary
        if vocab is None:  # pragma: no cover - understand() always attaches it
            raise RuntimeError("understanding without a vocabulary")

        def refs(ids: tuple[str, ...]) -> list[DeviceRef]:
            return [DeviceRef(home, d, vocab.display(d)) for d in ids]

        result = SayResult(
            language=u.language,
            text=text,
            understood=u.outcome in ("command", "question"),
            intent=u.intent,
            status="not_understood",
            answer="",
            devices=refs(u.devices),
            candidates=refs(u.candidates),
            target=u.operation.target if u.operation is not None else u.prop,
            reason=u.reason,
        )
        if u.outcome == "ambiguous":
            result.status = "ambiguous"
            result.answer = answers.ambiguous(u, [r.name for r in result.candidates])
        elif u.outcome == "question":
            result.status = "question"
            result.answer = self._question(u, home, vocab, sees)
        elif u.outcome == "command":
            await self._command(u, home=home, member=member, wait=wait, vocab=vocab, result=result)
        else:
            result.answer = answers.not_understood(u, text, vocab)
        return result

    def _question(self, u: Understanding, home: str, vocab: Vocabulary, sees: Sees | None) -> str:
        device = u.devices[0]
        name = vocab.display(device)
        spec = self.hub.spec(home, device)
        state = {p: v for p, v in self.hub.state(home, device).items() if sees is None or sees(device, p)}
        if u.state is not None:
            props = state_props(spec, u.state)
            values = {p: state[p].value if p in state else None for p in props}
            return answers.state_answer(name, u.state, answers.state_of(u.state, values), u.language)
        prop = u.prop or ""
        reported = state.get(prop)
        unit = spec.properties[prop].unit if prop in spec.properties else None
        return answers.value_answer(
            name, prop, None if reported is None else reported.value, unit, u.language
        )

    async def _command(
        self, u: Understanding, *, home: str, member: str, wait: float, vocab: Vocabulary, result: SayResult
    ) -> None:
        op, device = u.operation, u.devices[0]
        if op is None:  # pragma: no cover - a command always has its operation
            raise RuntimeError("command without an operation")
        name = vocab.display(device)
        spec = self.hub.spec(home, device)
        unit = spec.properties[op.target].unit if op.kind == "set" and op.target in spec.properties else None
        try:
            command = await self.hub.submit(
                home, device, op.kind, op.target, dict(op.args), member=member, face=self.face, ttl=self.ttl
            )
        except CommandDenied as exc:
            result.status = "refused"
            result.reason = exc.reason
            result.answer = answers.refused(op, name, unit, exc.reason, u.language)
            if exc.reason.startswith("unsigned"):
                result.sign = Proposal(home, device, op.kind, op.target, dict(op.args))
            return
        except InvalidCommand as exc:
            result.status = "refused"
            result.reason = exc.reason
            result.answer = answers.invalid(op, name, unit, exc.reason, u.language)
            return
        if wait > 0 and not command.status.final:
            with contextlib.suppress(CommandTimeout):  # the answer says it is still pending
                command = await self.hub.commands.wait(command.id, wait)
        result.status = "done"
        result.commands = [command.id]
        result.command_status = command.status.value
        if command.error:
            result.reason = command.error
        result.answer = answers.command(
            op, name, unit, status=command.status.value, error=command.error, language=u.language
        )
