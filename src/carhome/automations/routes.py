"""The automations and scenes part of the local API.

``automation_routes(hub, engine, files=…, access=…)`` returns Starlette routes to add to
the local app:

- ``GET /api/automations``: every automation of the caller's home, with its mode, its
  file (named relative to the data directory, never by an absolute path) and run counts;
- ``POST /api/automations/check``: ``{"text": …, "file": …, "replace": …}`` → the errors,
  with file and line, of the automations in the text, checked against this hub (nothing
  is loaded; the id of ``replace``, the automation an edit replaces, counts as free);
- ``GET /api/automations/{id}``: one automation with its YAML text (a file of its own,
  what the editor shows and saves back), enabled flag, file, line and run counts;
- ``GET /api/automations/{id}/traces``: the latest runs of one automation, oldest first;

and, with ``files`` (``carhome.automations.files.AutomationFiles``), the changes:

- ``POST /api/automations`` (create) and ``PUT /api/automations/{id}`` (replace), body
  ``{"text": …}`` holding one automation: checked as ``check`` does; a 422 problem whose
  ``errors`` array gives each error's ``line``, ``path`` and ``message``; a 409 when
  creating an id that exists. Saved to ``automations/saved/<id>.yaml`` and swapped into
  the running engine. Editing an automation of a read-only file (the demo's) saves an
  override there, which wins over that file at every start;
- ``POST /api/automations/{id}/enable`` and ``/disable``: kept across restarts;
- ``DELETE /api/automations/{id}``: only for automations with a saved file (a 409
  otherwise); answers ``{"deleted": id, "restored": …}``, ``restored`` being the
  automation an override overrode, back in its place.

A text is parsed once per request, on a worker thread (``carhome.automations.files.
read_text``), never on the event loop: a text as large as an automation file may be takes
a moment to parse.

Changing automations is the administrative operation ``manage_automations``: the
gatekeeper decides it from the policy table (owners may, family and guests may not) and
audits the decision, and each change is audited too, naming the automation.

Scenes (``carhome.automations.scenes``):

- ``GET /api/scenes``: the scenes the home's loaded files define, each with its devices'
  states and the commands that apply it;
- ``POST /api/scenes/{id}/apply``: submits those commands as the caller, each through the
  hub's gatekeeper; answers with the submitted commands (to follow by id) and the refused
  ones with their reasons, or a 403 when every one was refused. With an ``Idempotency-Key``
  (``carhome.http.idempotency``) each command's id is derived from the member, the key and
  its place in the scene, so a retry answers with the commands the first request made.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from carhome.automations import Automation, Engine, Source
from carhome.automations.files import (
    AutomationExists,
    AutomationFiles,
    Entry,
    InvalidAutomation,
    ReadOnlyAutomation,
    Text,
    UnknownAutomation,
    error_path,
    read_text,
)
from carhome.automations.scenes import Scene, SceneError, loaded_scenes, scene_commands
from carhome.errors import CommandDenied, DuplicateCommand, InvalidCommand
from carhome.http import idempotency
from carhome.http.bodies import decode_body, json_response
from carhome.http.operations import Operation, routes
from carhome.http.principals import Principal, principal_of
from carhome.http.problems import Problem
from carhome.hub import Hub, derived_id
from carhome.hub.commands import Command, CommandKind, Decision
from carhome.parts.access import MANAGE_AUTOMATIONS, AccessControl
from carhome.wire.automations import (
    AutomationDetail,
    AutomationOut,
    AutomationText,
    CheckError,
    CheckRequest,
    CheckResult,
    Deleted,
    SavingError,
    SceneApplied,
    SceneOut,
    SceneRefusal,
    SceneStep,
    Trace,
    TraceList,
)

_MAX_TEXT: Final = 1024 * 1024


def _shown(file: str) -> str:
    """A file name fit to show: an absolute path of this machine becomes its name."""
    return f"external:{PurePath(file).name}" if PurePath(file).is_absolute() else file


def _unknown(exc: UnknownAutomation) -> Problem:
    return Problem(404, "unknown-automation", "No such automation", str(exc), automation=exc.automation)


class AutomationRoutes:
    """The handlers, over one engine, its files and the hub's access parts."""

    def __init__(
        self, hub: Hub, engine: Engine, files: AutomationFiles | None, access: AccessControl | None
    ) -> None:
        self.hub = hub
        self.engine = engine
        self.files = files
        self.access = access

    def home_of(self, automation: Automation) -> str | None:
        return self.engine.home_of(automation.id)

    def visible(self, principal: Principal) -> list[Automation]:
        """The automations of the caller's home; none for a guest, whose grants show some
        devices only (an automation's text and traces name others, and where the car is)."""
        if principal.role == "guest":
            return []
        return [
            a
            for a in self.engine.automations()
            if principal.home is None or self.home_of(a) == principal.home
        ]

    def find(self, request: Request) -> Automation:
        """The path's automation, a 404 unless it is loaded and in the caller's home."""
        automation_id = request.path_params["id"]
        mine = self.visible(principal_of(request))
        for automation in mine:
            if automation.id == automation_id:
                return automation
        raise _unknown(UnknownAutomation(automation_id, (a.id for a in mine)))

    def summary(self, automation: Automation, source: Source | None = None) -> AutomationOut:
        """``automation`` as listed, written at ``source`` (by default where the engine loaded it)."""
        source = self.engine.source(automation.id) if source is None else source
        return AutomationOut(
            id=automation.id,
            alias=automation.alias,
            home=automation.home,
            mode=automation.mode,
            enabled=automation.enabled,
            file=_shown(source.file),
            line=source.line,
            **self.engine.stats(automation.id),
        )

    async def detail(self, entry: Entry) -> AutomationDetail:
        automation = entry.automation
        # a base file's automation is cut out of its file and parsed to check the cut
        text = await asyncio.to_thread(entry.text) if entry.origin != "saved" else entry.file_text
        overridden = self.files.overridden(automation.id) if self.files is not None else None
        return AutomationDetail(
            **msgspec.structs.asdict(self.summary(automation, entry.source)),
            origin=entry.origin,
            overrides=None if overridden is None else _shown(overridden),
            text=text,
        )

    def entry_of(self, automation: Automation) -> Entry:
        if self.files is not None:
            return self.files.entry(self.engine, automation.id)
        return Entry(automation, self.engine.source(automation.id), "", "external")

    async def manager(self, request: Request) -> Principal:
        """The caller, if the policy lets them change automations (else a 403); audited."""
        principal = principal_of(request)
        if self.access is None:
            return principal
        decision = await self.access.authorize(
            member=principal.member, home=principal.home or "-", face="api", operation=MANAGE_AUTOMATIONS
        )
        if not decision.allowed:
            raise Problem(
                403,
                "not-allowed",
                "Not allowed",
                f"{principal.member} may not change automations: {decision.reason}",
                member=principal.member,
                reason=decision.reason,
            )
        return principal

    async def audit(self, principal: Principal, automation_id: str, change: str) -> None:
        """Put the change itself on record, beside the decision that allowed it."""
        if self.access is None:
            return
        await self.access.record(
            home=principal.home or "-",
            member=principal.member,
            face="api",
            command="-",
            device=f"automation:{automation_id}",
            target=change,
            decision=Decision(True, f"automation {automation_id} {change}"),
        )

    def files_or_refuse(self) -> AutomationFiles:
        if self.files is None:  # pragma: no cover - the routes below are mounted only with self.files
            raise Problem(
                503,
                "no-self.files",
                "Automations are read-only",
                "this self.hub keeps no automation self.files",
            )
        return self.files

    async def own_home(
        self, principal: Principal, text: str, file: str = "<api>"
    ) -> tuple[Text, list[SavingError]]:
        """The text to save, parsed (on a worker thread, once), and why it may not be: an
        automation acts in its saver's home, as a member of that home (the saver, when it
        names none). Devices and times of another home are refused when it is bound
        (``carhome.automations.binding``)."""
        if principal.home is None:
            return await asyncio.to_thread(read_text, text, file=file), []
        parsed = await asyncio.to_thread(read_text, text, file=file, member=principal.member)
        homes = self.hub.homes()
        sole = homes[0].id if len(homes) == 1 else None
        access = self.access
        errors: list[SavingError] = []
        for automation, source in parsed.loaded.automations:
            home = automation.home or sole
            if home != principal.home:
                errors.append(
                    SavingError(
                        source.line_of(("home",)),
                        "home",
                        f"automations you change act in home {principal.home!r}, not {home!r}",
                    )
                )
            member = automation.member
            if member is not None and access is not None and access.home_of(member) != principal.home:
                errors.append(
                    SavingError(
                        source.line_of(("member",)),
                        "member",
                        f"{member!r} is not a member of home {principal.home!r}; an automation"
                        " acts as a member of its own home",
                    )
                )
        return parsed, errors

    async def listing(self, request: Request) -> Response:
        return json_response([self.summary(a) for a in self.visible(principal_of(request))])

    async def check(self, request: Request) -> Response:
        # the same right as saving: checking binds the text against this hub
        principal = await self.manager(request)
        asked = await decode_body(request, CheckRequest, limit=_MAX_TEXT)
        parsed, foreign = await self.own_home(principal, asked.text, asked.file)
        if foreign:  # not bound at all: nothing of another home is looked up for the caller
            return json_response(
                CheckResult([CheckError(asked.file, e.line, f"{e.path}: {e.message}") for e in foreign])
            )
        errors = await self.engine.check_loaded(parsed.loaded, asked.file)
        if asked.replace is not None:
            taken = f"id: automation {asked.replace!r} is already loaded"
            errors = [e for e in errors if e.reason != taken]
        return json_response(CheckResult([CheckError(e.file, e.line, e.reason) for e in errors]))

    async def one(self, request: Request) -> Response:
        automation = self.find(request)
        return json_response(await self.detail(self.entry_of(automation)))

    async def traces(self, request: Request) -> Response:
        automation = self.find(request)
        traces: list[Trace] = list(self.engine.trace(automation.id))
        return json_response(TraceList(automation.id, traces))

    async def create(self, request: Request) -> Response:
        principal = await self.manager(request)
        body = await decode_body(request, AutomationText, limit=_MAX_TEXT)
        parsed, foreign = await self.own_home(principal, body.text)
        if foreign:
            raise _invalid(foreign)
        try:
            entry = await self.files_or_refuse().save(self.engine, parsed)
        except InvalidAutomation as exc:
            raise _invalid_from(exc) from None
        except AutomationExists as exc:
            raise Problem(
                409,
                "automation-exists",
                "Automation exists",
                str(exc),
                automation=exc.automation,
                file=exc.file,
            ) from None
        await self.audit(principal, entry.automation.id, "created")
        return json_response(
            await self.detail(entry), 201, headers={"Location": f"/api/automations/{entry.automation.id}"}
        )

    async def replace(self, request: Request) -> Response:
        principal = await self.manager(request)
        automation = self.find(request)
        body = await decode_body(request, AutomationText, limit=_MAX_TEXT)
        parsed, foreign = await self.own_home(principal, body.text)
        if foreign:
            raise _invalid(foreign)
        try:
            entry = await self.files_or_refuse().save(self.engine, parsed, replace=automation.id)
        except InvalidAutomation as exc:
            raise _invalid_from(exc) from None
        except UnknownAutomation as exc:  # pragma: no cover - deleted between find and save
            raise _unknown(exc) from None
        await self.audit(principal, automation.id, "replaced")
        return json_response(await self.detail(entry))

    async def switch(self, request: Request, enabled: bool) -> Response:
        principal = await self.manager(request)
        automation = self.find(request)
        try:
            entry = await self.files_or_refuse().set_enabled(self.engine, automation.id, enabled)
        except UnknownAutomation as exc:  # pragma: no cover - deleted between find and switch
            raise _unknown(exc) from None
        await self.audit(principal, automation.id, "enabled" if enabled else "disabled")
        return json_response(await self.detail(entry))

    async def enable(self, request: Request) -> Response:
        return await self.switch(request, True)

    async def disable(self, request: Request) -> Response:
        return await self.switch(request, False)

    async def delete(self, request: Request) -> Response:
        principal = await self.manager(request)
        automation = self.find(request)
        try:
            restored = await self.files_or_refuse().delete(self.engine, automation.id)
        except ReadOnlyAutomation as exc:
            raise Problem(
                409,
                "read-only-automation",
                "Automation is read-only",
                str(exc),
                automation=exc.automation,
                file=_shown(exc.file),
            ) from None
        except InvalidAutomation as exc:  # the base automation it overrode no longer binds
            raise _invalid_from(exc) from None
        await self.audit(principal, automation.id, "deleted")
        return json_response(
            Deleted(automation.id, None if restored is None else await self.detail(restored))
        )

    # -- scenes ---------------------------------------------------------------------------

    def scenes_of(self, principal: Principal) -> list[Scene]:
        return [s for s in loaded_scenes(self.engine) if principal.sees(s.home)]

    async def scenes(self, request: Request) -> Response:
        out = []
        for scene in self.scenes_of(principal_of(request)):
            try:
                steps = [SceneStep(d, k, t, a) for _, d, k, t, a in scene_commands(self.hub, scene)]
                error = None
            except SceneError as exc:
                steps, error = [], str(exc)
            out.append(
                SceneOut(
                    id=scene.id,
                    name=scene.name,
                    home=scene.home,
                    states=scene.states,
                    steps=steps,
                    error=error,
                )
            )
        return json_response(out)

    async def apply(self, request: Request) -> Response:
        principal = principal_of(request)
        scene_id = request.path_params["id"]
        mine = self.scenes_of(principal)
        scene = next((s for s in mine if s.id == scene_id), None)
        if scene is None:
            known = ", ".join(s.id for s in mine) or "none"
            raise Problem(
                404,
                "unknown-scene",
                "No such scene",
                f"no scene {scene_id!r}; the loaded self.files define: {known}",
                scene=scene_id,
            )
        try:
            commands = scene_commands(self.hub, scene)
        except SceneError as exc:
            raise Problem(422, "invalid-scene", "Scene cannot apply", str(exc), scene=scene_id) from None
        key = idempotency.key_of(request)
        submitted: list[Command] = []
        refused: list[SceneRefusal] = []
        for i, (home, device, kind, target, args) in enumerate(commands):
            command_id = None if key is None else derived_id("api", principal.member, key, "scene", i)
            try:
                submitted.append(
                    await self.hub.submit(
                        home,
                        device,
                        kind,
                        target,
                        args,
                        member=principal.member,
                        face="api",
                        command_id=command_id,
                    )
                )
            except DuplicateCommand:
                if key is None or command_id is None:  # pragma: no cover - a random id is never taken
                    raise
                submitted.append(
                    await self._made_before(command_id, key, scene_id, (home, device, kind, target, args))
                )
            except CommandDenied as exc:
                refused.append(SceneRefusal(device, target, 403, exc.reason))
            except InvalidCommand as exc:
                refused.append(SceneRefusal(device, target, 422, str(exc)))
        if refused and not submitted:
            raise Problem(
                403,
                "not-allowed",
                "Not allowed",
                f"{principal.member} may not apply scene {scene_id!r}: "
                + "; ".join(f"{r.device} {r.target}: {r.reason}" for r in refused),
                scene=scene_id,
                refused=refused,
            )
        return json_response(SceneApplied(scene.id, scene.home, submitted, refused))

    async def _made_before(
        self,
        command_id: str,
        key: str,
        scene_id: str,
        wanted: tuple[str, str, CommandKind, str, dict[str, Any]],
    ) -> Command:
        """The command an earlier request with the same idempotency key made at this place
        of the scene, if it is this one (a 422 problem if not)."""
        made = self.hub.commands.get(command_id) or await self.hub.store.outbox_get(command_id)
        home, device, kind, target, args = wanted
        checked = self.hub.commands.make(
            home=home, device=device, kind=kind, target=target, args=args, member="check", face="api"
        ).args
        if made is None or (made.home, made.device, made.kind, made.target, made.args) != (
            home,
            device,
            kind,
            target,
            checked,
        ):
            raise idempotency.reused(
                key, f"scene {scene_id!r} asks for other commands than that request made"
            )
        return made


READ_OPERATIONS: Final[tuple[Operation[AutomationRoutes], ...]] = (
    Operation(
        "GET",
        "/api/automations",
        AutomationRoutes.listing,
        "Loaded automations and their run counts",
        "automations",
        {200: list[AutomationOut]},
    ),
    Operation(
        "POST",
        "/api/automations/check",
        AutomationRoutes.check,
        "Check automations in a text (nothing is loaded)",
        "automations",
        {200: CheckResult},
        body=CheckRequest,
    ),
    Operation(
        "GET",
        "/api/automations/{id}/traces",
        AutomationRoutes.traces,
        "The latest runs of one automation",
        "automations",
        {200: TraceList},
        problems=(404,),
    ),
    Operation(
        "GET",
        "/api/automations/{id}",
        AutomationRoutes.one,
        "One automation with its YAML text, switch and where it is kept",
        "automations",
        {200: AutomationDetail},
        problems=(404,),
    ),
)
"""Reading and checking automations."""

CHANGE_OPERATIONS: Final[tuple[Operation[AutomationRoutes], ...]] = (
    Operation(
        "POST",
        "/api/automations",
        AutomationRoutes.create,
        "Create an automation from its YAML text (checked against this hub, saved durably)",
        "automations",
        {201: AutomationDetail},
        body=AutomationText,
        problems=(403, 409, 501),
        headers={201: {"Location": "Where the automation can be read again"}},
        description="A refused save is a 422 problem whose `errors` give each line, path and message.",
    ),
    Operation(
        "PUT",
        "/api/automations/{id}",
        AutomationRoutes.replace,
        "Replace an automation (one from a read-only file is saved as an override)",
        "automations",
        {200: AutomationDetail},
        body=AutomationText,
        problems=(403, 404, 501),
    ),
    Operation(
        "DELETE",
        "/api/automations/{id}",
        AutomationRoutes.delete,
        "Delete a saved automation (an override's original comes back)",
        "automations",
        {200: Deleted},
        problems=(403, 404, 409, 501),
    ),
    Operation(
        "POST",
        "/api/automations/{id}/enable",
        AutomationRoutes.enable,
        "Switch an automation on (kept across restarts)",
        "automations",
        {200: AutomationDetail},
        problems=(403, 404, 501),
    ),
    Operation(
        "POST",
        "/api/automations/{id}/disable",
        AutomationRoutes.disable,
        "Switch an automation off (kept across restarts)",
        "automations",
        {200: AutomationDetail},
        problems=(403, 404, 501),
    ),
)
"""Changing automations: served only by a hub that keeps automation files."""

SCENE_OPERATIONS: Final[tuple[Operation[AutomationRoutes], ...]] = (
    Operation(
        "GET",
        "/api/scenes",
        AutomationRoutes.scenes,
        "The scenes of the home's automation files",
        "scenes",
        {200: list[SceneOut]},
    ),
    Operation(
        "POST",
        "/api/scenes/{id}/apply",
        AutomationRoutes.apply,
        "Apply a scene as the calling member (each command through the gatekeeper)",
        "scenes",
        {200: SceneApplied},
        problems=(403, 404),
        request_headers={idempotency.HEADER: idempotency.PARAMETER},
    ),
)


def automation_routes(
    hub: Hub, engine: Engine, *, files: AutomationFiles | None = None, access: AccessControl | None = None
) -> list[BaseRoute]:
    """The routes, over ``engine`` (which runs the automations of ``hub``); the changes
    only with ``files``; without ``access`` every caller may change them (tests, embedding)."""
    handlers = AutomationRoutes(hub, engine, files, access)
    changes = CHANGE_OPERATIONS if files is not None else ()
    return routes((*READ_OPERATIONS, *changes, *SCENE_OPERATIONS), handlers)


def _invalid(errors: list[SavingError]) -> Problem:
    first = errors[0]
    where = f" (line {first.line})" if first.line is not None else ""
    more = f"; and {len(errors) - 1} more" if len(errors) > 1 else ""
    return Problem(
        422,
        "invalid-automation",
        "Invalid automation",
        f"the automation was not saved: {first.message}{where}{more}",
        errors=errors,
    )


def _invalid_from(exc: InvalidAutomation) -> Problem:
    out = []
    for error in exc.errors:
        path, message = error_path(error)
        out.append(SavingError(error.line, path, message))
    return _invalid(out)
