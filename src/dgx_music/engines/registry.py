"""Engines by name, imported only when first used so that listing them costs nothing.

Built-ins live here; operators add their own with the ``engine_plugins`` setting
(``{"name": "package.module:factory"}``), where ``factory(settings)`` returns an Engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from dgx_music.engines.base import Engine

if TYPE_CHECKING:
    from dgx_music.config import Settings

BUILTIN_ENGINES: dict[str, str] = {
    "auto": "dgx_music.engines.auto:make_auto_engine",
    "musicgen": "dgx_music.engines.registry:make_musicgen_engine",
    "symbolic": "dgx_music.engines.registry:make_symbolic_engine",
}


class UnknownEngine(LookupError):
    pass


def make_symbolic_engine(settings: Settings) -> Engine:
    from dgx_music.engines.symbolic import SymbolicEngine

    return SymbolicEngine(soundfont=settings.soundfont)


def make_musicgen_engine(settings: Settings) -> Engine:
    from dgx_music.engines.musicgen import MusicGenEngine

    return MusicGenEngine(settings)


class EngineRegistry:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._specs = {**BUILTIN_ENGINES, **settings.engine_plugins}
        self._instances: dict[str, Engine] = {}

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> Engine:
        if name not in self._specs:
            raise UnknownEngine(f"unknown engine {name!r}; available: {', '.join(self.names())}")
        if name not in self._instances:
            self._instances[name] = self._load(name, self._specs[name])
        return self._instances[name]

    def _load(self, name: str, spec: str) -> Engine:
        module_name, _, attribute = spec.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise UnknownEngine(f"engine {name!r} cannot be loaded from {spec!r}: {exc}") from exc
        if getattr(factory, "needs_registry", False):  # engines built from other engines
            engine = factory(self._settings, self)
        else:
            engine = cast(Callable[["Settings"], Engine], factory)(self._settings)
        if not isinstance(engine, Engine):
            raise UnknownEngine(f"engine {name!r} from {spec!r} does not implement Engine")
        return engine
