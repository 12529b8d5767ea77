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
    from fireside.core.remote.service import Remote


@dataclass
class AppContext:
    paths: paths_mod.Paths
    library: Library
    settings: SettingsStore
    window: bool = False  # a window shares the process: the engine gives way to it
    _engine: Engine | None = None
    _remote: Remote | None = None

    @property
    def engine(self) -> Engine:
        """Built on first use: importing llama.cpp costs ~0.2 s that most commands never need."""
        if self._engine is None:
            from fireside.core.inference.engine import Engine

            self._engine = Engine()
            if self.window:
                self._engine.favour_window()
        return self._engine

    def share_with_window(self) -> None:
        """A window runs in this process: the engine (built now or later) gives way to it."""
        self.window = True
        if self._engine is not None:
            self._engine.favour_window()

    @property
    def remote(self) -> Remote:
        """Providers of remote models (``PROVIDER:MODEL``), their keys and model lists."""
        if self._remote is None:
            from fireside.core.remote.service import Remote

            self._remote = Remote(self.paths.config, self.paths.cache, self.settings.secrets)
        return self._remote


def build(env: dict[str, str] | None = None) -> AppContext:
    paths = paths_mod.resolve(env).ensure()
    library = Library(paths.models, paths.data / "library.json")
    return AppContext(paths=paths, library=library, settings=SettingsStore(paths.settings_file))
