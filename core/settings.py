"""User settings, one JSON file in the config dir.

Typed sections with defaults; unknown or malformed values fall back to the defaults with a
warning (a hand-edited file must never stop the app), and writes are atomic.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from fireside.core.inference.types import LoadSettings

log = logging.getLogger("fireside.settings")
T = TypeVar("T")


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str = ""
    cors_origins: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    jit_load: bool = True
    idle_unload_s: int = 0  # 0 = never
    max_queue: int = 8
    max_body_bytes: int = 8 * 1024 * 1024


@dataclass
class HubSettings:
    endpoint: str = ""  # empty: huggingface_hub's default (HF_ENDPOINT or huggingface.co)
    token: str = ""  # sent only to the Hub endpoint, never logged
    parallel_downloads: int = 2


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    load: dict[str, LoadSettings] = field(default_factory=dict)  # per model name
    ui: dict[str, Any] = field(default_factory=dict)

    def load_settings_for(self, model: str) -> LoadSettings:
        return self.load.get(model, LoadSettings())


def _section(cls: type[T], raw: Any) -> T:
    if not isinstance(raw, dict):
        return cls()
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    good: dict[str, Any] = {}
    defaults = cls()
    for key, value in raw.items():
        if key not in names:
            continue
        default = getattr(defaults, key)
        if isinstance(default, bool) != isinstance(value, bool) or (
                default is not None and not isinstance(value, type(default))
                and not (isinstance(default, float) and isinstance(value, int))):
            log.warning("settings: ignoring %s.%s=%r (wrong type)", cls.__name__, key, value)
            continue
        good[key] = value
    return cls(**good)


class SettingsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> Settings:
        with self._lock:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return Settings()
            except (OSError, ValueError) as exc:
                log.warning("settings file unreadable (%s); using defaults", exc)
                return Settings()
        if not isinstance(raw, dict):
            return Settings()
        load = raw.get("load") if isinstance(raw.get("load"), dict) else {}
        ui = raw.get("ui")
        return Settings(
            server=_section(ServerSettings, raw.get("server")),
            hub=_section(HubSettings, raw.get("hub")),
            load={k: _section(LoadSettings, v) for k, v in (load or {}).items()},
            ui=ui if isinstance(ui, dict) else {},
        )

    def write(self, settings: Settings) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
            os.replace(tmp, self.path)
