"""User settings, one JSON file in the config dir.

Typed sections with defaults; unknown or malformed values fall back to the defaults with a
warning (a hand-edited file must never stop the app). The window and ``fireside serve`` write
the same file, so every write is atomic and locked across processes, and a write applies only
what its caller changed since it read (a three-way merge onto the file as it is now): two
writers' different changes both survive. Secrets (the API key, the Hub token) never reach the
file; they live in :class:`~fireside.core.secrets.SecretStore`, and old plain-text values are
moved there on first read.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from fireside.core.atomic import locked, write_json_atomic
from fireside.core.errors import StorageError
from fireside.core.inference.types import LoadSettings
from fireside.core.secrets import SecretStore

log = logging.getLogger("fireside.settings")
T = TypeVar("T")
# (section, field) of every value kept in the SecretStore instead of settings.json.
SECRET_FIELDS = (("server", "api_key"), ("hub", "token"))
_DELETE = object()
KeyPath = tuple[str, ...]


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str = ""  # a secret: kept in the SecretStore, never in settings.json
    cors_origins: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    jit_load: bool = True
    jit_replaces_chat_model: bool = False  # may a request swap out the model the chat uses?
    idle_unload_s: int = 0  # 0 = never
    max_queue: int = 64  # a burst of 64 requests waits its turn; past it, 429 + Retry-After
    max_body_bytes: int = 8 * 1024 * 1024
    any_model_name: bool = False  # an unknown model name gets the loaded model (llama-server)
    default_max_tokens: int = 0  # a reply's limit when its request names none (0: none)
    metrics: bool = False  # /metrics in Prometheus' text format (off: it tells about the load)
    # file:// image URLs are read under this folder only (llama-server's --media-path); "" = none
    media_path: str = ""


@dataclass
class HubSettings:
    endpoint: str = ""  # empty: huggingface_hub's default (HF_ENDPOINT or huggingface.co)
    token: str = ""  # a secret (SecretStore); sent only to the endpoint's scheme+host
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
    """Reads and writes ``settings.json``; safe across threads and processes."""

    def __init__(self, path: Path, secrets: SecretStore | None = None) -> None:
        self.path = path
        self.secrets = secrets or SecretStore(path.parent)
        self._bases: dict[int, dict[str, Any]] = {}  # id(Settings) -> what read() returned
        self._bases_lock = threading.Lock()

    # -- reading --------------------------------------------------------------------------
    def read(self) -> Settings:
        raw = self._raw()
        if any(isinstance(raw.get(sec), dict) and raw[sec].get(key)
               for sec, key in SECRET_FIELDS):
            try:
                with locked(self.path):
                    raw = self._migrate_secrets(self._raw())
            except OSError as exc:  # a read-only or full disk: use them as they are, for now
                log.warning("could not move secrets out of settings.json: %s",
                            exc.strerror or exc)
        settings = _parse(raw)
        for sec, key in SECRET_FIELDS:
            section = getattr(settings, sec)
            setattr(section, key, self.secrets.get(f"{sec}.{key}") or getattr(section, key))
        self._remember(settings)
        return settings

    def _raw(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("settings file unreadable (%s); using defaults", exc)
            return {}
        return raw if isinstance(raw, dict) else {}

    def _migrate_secrets(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Move plain-text secrets left by older versions into the secret store."""
        moved = []
        kept = copy.deepcopy(raw)
        for sec, key in SECRET_FIELDS:
            section = kept.get(sec)
            if isinstance(section, dict) and section.get(key):
                value = section.pop(key)
                if isinstance(value, str):
                    self.secrets.set(f"{sec}.{key}", value)
                moved.append(f"{sec}.{key}")
        if moved:
            write_json_atomic(self.path, kept)
            log.info("moved %s out of settings.json (%s)", ", ".join(moved),
                     self.secrets.where())
        return raw

    def _remember(self, settings: Settings) -> None:
        key = id(settings)
        with self._bases_lock:
            self._bases[key] = asdict(settings)
        weakref.finalize(settings, self._forget, key)

    def _forget(self, key: int) -> None:
        with self._bases_lock:
            self._bases.pop(key, None)

    # -- writing --------------------------------------------------------------------------
    def write(self, settings: Settings) -> None:
        """Save what the caller changed since its :meth:`read` (everything, for a Settings
        built by hand), merged onto the file as another process may have left it."""
        with self._bases_lock:
            base = self._bases.get(id(settings))
        new = asdict(settings)
        try:
            with locked(self.path):
                current = asdict(self._current())
                merged = copy.deepcopy(new if base is None else current)
                if base is not None:
                    _merge(merged, _diff(base, new))
                for sec, key in SECRET_FIELDS:
                    value = merged.get(sec, {}).pop(key, "")
                    if value != current.get(sec, {}).get(key, ""):
                        self.secrets.set(f"{sec}.{key}", value)
                write_json_atomic(self.path, merged)
        except OSError as exc:
            raise StorageError(
                f"could not save settings to {self.path}: {exc.strerror or exc}") from exc
        with self._bases_lock:
            self._bases[id(settings)] = new

    def update(self, change: Callable[[Settings], None]) -> Settings:
        """Read, ``change(settings)``, write, all under the lock: the way to edit settings."""
        with locked(self.path):
            settings = self.read()
            change(settings)
            self.write(settings)
        return settings

    def _current(self) -> Settings:
        settings = _parse(self._raw())
        for sec, key in SECRET_FIELDS:
            setattr(getattr(settings, sec), key, self.secrets.get(f"{sec}.{key}"))
        return settings


def _parse(raw: dict[str, Any]) -> Settings:
    load = raw.get("load") if isinstance(raw.get("load"), dict) else {}
    ui = raw.get("ui")
    return Settings(
        server=_section(ServerSettings, raw.get("server")),
        hub=_section(HubSettings, raw.get("hub")),
        load={k: _section(LoadSettings, v) for k, v in (load or {}).items()},
        ui=ui if isinstance(ui, dict) else {},
    )


def _diff(base: dict[str, Any], new: dict[str, Any],
          prefix: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    """Leaf-level changes from ``base`` to ``new`` (dicts recurse; lists are leaves)."""
    changes: list[tuple[KeyPath, Any]] = []
    for key in list(base) + [k for k in new if k not in base]:
        where = (*prefix, key)
        if key not in new:
            changes.append((where, _DELETE))
        elif key not in base:
            changes.append((where, new[key]))
        elif isinstance(base[key], dict) and isinstance(new[key], dict):
            changes += _diff(base[key], new[key], where)
        elif base[key] != new[key]:
            changes.append((where, new[key]))
    return changes


def _merge(target: dict[str, Any], changes: list[tuple[KeyPath, Any]]) -> dict[str, Any]:
    for where, value in changes:
        node = target
        for key in where[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if value is _DELETE:
            node.pop(where[-1], None)
        else:
            node[where[-1]] = copy.deepcopy(value)
    return target
