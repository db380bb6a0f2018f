"""Scenes as people apply them: the named sets of device states the loaded files define.

A file's ``scenes:`` are given to each of its automations (``Automation.scenes``), where a
``scene`` action applies one. ``loaded_scenes`` gathers them from the automations an
engine runs, one per (home, id), so the API and the cabin view can list them and apply
one on a member's word; ``scene_commands`` resolves a scene into the commands that put
each device in its state, exactly as a ``scene`` action would submit them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carhome.automations.actions import SceneCommand, bind_scene
from carhome.automations.binding import Binder, BindError
from carhome.automations.engine import Engine
from carhome.errors import CarhomeError
from carhome.hub import Hub


@dataclass(frozen=True, slots=True)
class Scene:
    """One scene: its id, its home, and each device's wanted state as written."""

    id: str
    home: str
    states: dict[str, dict[str, Any]]

    @property
    def name(self) -> str:
        return self.id.replace("_", " ").capitalize()


class SceneError(CarhomeError):
    """A scene names a device or property the hub does not have."""


def loaded_scenes(engine: Engine) -> list[Scene]:
    """Every scene of the loaded automations' files, by home and id (the first wins)."""
    found: dict[tuple[str, str], Scene] = {}
    for automation in engine.automations():
        if not automation.scenes:
            continue
        home = engine.home_of(automation.id)
        if home is None:
            continue
        for scene_id, states in automation.scenes.items():
            found.setdefault((home, scene_id), Scene(scene_id, home, states))
    return sorted(found.values(), key=lambda s: (s.home, s.id))


def scene_commands(hub: Hub, scene: Scene) -> list[SceneCommand]:
    """The commands that apply ``scene``: (home, device, kind, target, args) each."""
    try:
        return bind_scene(scene.states, Binder(hub, scene.home), ("scenes", scene.id))
    except BindError as exc:
        raise SceneError(f"scene {scene.id!r}: {exc.message}") from None
