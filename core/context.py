"""The composition root's ingredients for headless fronts (CLI, server).

Built once per process and passed down — no module-level singletons.
"""

from __future__ import annotations

from dataclasses import dataclass

from fireside.core import paths as paths_mod
from fireside.core.inference.engine import Engine
from fireside.core.models.library import Library
from fireside.core.settings import SettingsStore


@dataclass
class AppContext:
    paths: paths_mod.Paths
    library: Library
    engine: Engine
    settings: SettingsStore


def build(env: dict[str, str] | None = None) -> AppContext:
    paths = paths_mod.resolve(env).ensure()
    library = Library(paths.models, paths.data / "library.json")
    return AppContext(paths=paths, library=library, engine=Engine(),
                      settings=SettingsStore(paths.settings_file))
