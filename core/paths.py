"""Every filesystem location Fireside uses, in one place.

platformdirs gives the per-OS defaults; ``FIRESIDE_HOME`` overrides all of them at once so that
tests (and portable installs) can keep everything under one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "fireside"


@dataclass(frozen=True)
class Paths:
    """The resolved folders; created on demand by :meth:`ensure`."""

    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def downloads(self) -> Path:
        return self.data / "downloads"

    @property
    def database(self) -> Path:
        return self.data / "fireside.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> Paths:
        for folder in (self.data, self.config, self.cache, self.logs, self.models, self.downloads):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve(env: dict[str, str] | None = None) -> Paths:
    """Paths for this process: ``FIRESIDE_HOME`` if set, else the platform's folders."""
    env = dict(os.environ) if env is None else env
    home = env.get("FIRESIDE_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(data=root / "data", config=root / "config", cache=root / "cache",
                     logs=root / "logs")
    return Paths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
