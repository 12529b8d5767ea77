"""The composition root's ingredients for headless fronts (CLI, server).

Built once per process and passed down — no module-level singletons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fireside.core import paths as paths_mod
from fireside.core.models.library import Library
from fireside.core.settings import SettingsStore

if TYPE_CHECKING:
    from fireside.core.inference.engine import Engine


@dataclass
class AppContext:
    paths: paths_mod.Paths
    library: Library
    settings: SettingsStore
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Built on first use: importing llama.cpp costs ~0.2 s that most commands never need."""
        if self._engine is None:
            from fireside.core.inference.engine import Engine

            self._engine = Engine()
        return self._engine


def build(env: dict[str, str] | None = None) -> AppContext:
    paths = paths_mod.resolve(env).ensure()
    library = Library(paths.models, paths.data / "library.json")
    return AppContext(paths=paths, library=library, settings=SettingsStore(paths.settings_file))
