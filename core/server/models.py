"""Which model answers a request: the loaded one, or a local one loaded just in time.

The server never unloads what the person loaded in the window: only a model the server itself
loaded for a request is unloaded after the idle TTL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fireside.core.errors import BadModelFileError, FiresideError
from fireside.core.inference.engine import Engine, LoadedModel
from fireside.core.inference.types import LoadSettings
from fireside.core.models.library import STARTER_ALIAS, Library, LocalModel
from fireside.core.server.params import ApiError
from fireside.core.settings import ServerSettings

log = logging.getLogger("fireside.server.models")
LoadSettingsFor = Callable[[str], LoadSettings]


class ModelManager:
    def __init__(self, engine: Engine, library: Library | None, settings: ServerSettings,
                 load_settings_for: LoadSettingsFor | None = None) -> None:
        self.engine = engine
        self.library = library
        self.settings = settings
        self._load_settings_for = load_settings_for or (lambda _name: LoadSettings())
        self._lock = threading.Lock()  # counters only: taken on the event loop, never held long
        self._load_lock = threading.Lock()  # one just-in-time load (or idle unload) at a time
        self._jit: LoadedModel | None = None  # what the server itself loaded
        self._last_used = time.monotonic()
        self._in_flight = 0
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    # -- requests ------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return self._in_flight

    def try_begin(self, limit: int) -> bool:
        """Count a request in unless ``limit`` are already in flight (served or waiting)."""
        with self._lock:
            if self._in_flight >= limit:
                return False
            self._in_flight += 1
            self._last_used = time.monotonic()
            return True

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._last_used = time.monotonic()

    def resolve(self, requested: Any) -> str:
        """The name of the model that will answer; may load one (blocking: run in a thread)."""
        if requested is not None and not isinstance(requested, str):
            raise ApiError(400, "'model' must be a string", param="model", code="invalid_value")
        loaded = self.engine.loaded
        if not requested:
            if loaded is None:  # OpenAI answers a missing model with a 400, and so do we
                raise ApiError(400, "you must provide a 'model': none is loaded (name a local "
                               "model, or load one in Fireside)", param="model",
                               code="model_not_loaded")
            return loaded.name
        if loaded is not None and requested in (loaded.name, loaded.path.name, loaded.path.stem):
            return loaded.name
        try:
            model = self._find(requested)
        except ApiError:
            if loaded is not None and self.settings.any_model_name:
                return loaded.name  # llama-server's way: one model answers to any name
            raise
        if loaded is not None and model.path == loaded.path:
            return loaded.name
        if not self.settings.jit_load:
            raise ApiError(404, f"the model '{requested}' is not loaded and loading on demand "
                           "is off", param="model", code="model_not_found")
        if model.error:
            raise ApiError(400, f"{model.name}: {model.error}", param="model",
                           code="model_unusable")
        with self._load_lock:
            loaded = self.engine.loaded
            if loaded is None or loaded.path != model.path:
                if loaded is not None and loaded.loaded_by == "chat" \
                        and not self.settings.jit_replaces_chat_model:
                    raise ApiError(409, f"'{loaded.name}' is loaded for a chat in Fireside's "
                                   f"window; the server will not swap it for '{model.name}' "
                                   "(use that model, or allow it in the server settings: "
                                   "jit_replaces_chat_model)", param="model",
                                   code="model_in_use")
                log.info("loading %s for an API request", model.name)
                try:
                    self._jit = self.engine.load(model.path, self._load_settings_for(model.name),
                                                 name=model.name, by="server")
                except BadModelFileError as exc:  # the file, not the server, is at fault
                    raise ApiError(400, str(exc), param="model", code="model_unusable") from exc
                except FiresideError as exc:
                    raise ApiError(500, str(exc), "server_error", "model",
                                   "model_load_failed") from exc
                self._ensure_reaper()
            if self.library is not None:
                self.library.touch(model.name)
        return model.name

    def _find(self, requested: str) -> LocalModel:
        """A library model by its listed name (or ``starter``), never by a filesystem path.

        ``Library.get`` also opens paths, which would let any client load any ``.gguf`` the
        user can read, and answer differently for files that exist: a request names a model,
        it does not point at one.
        """
        if self.library is not None:
            for model in self.library.list():
                if model.name == requested or (requested == STARTER_ALIAS
                                               and model.entry.starter):
                    return model
        raise self._unknown(requested)

    @staticmethod
    def _unknown(name: str) -> ApiError:
        return ApiError(404, f"The model {name[:200]!r} does not exist or you do not have "
                        "access to it.", param="model", code="model_not_found")

    def listing(self) -> list[dict[str, Any]]:
        """OpenAI's model objects: the loaded model first, then the library."""
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        loaded = self.engine.loaded
        if loaded is not None:
            out.append(_model_object(loaded.name, True, loaded.n_ctx))
            seen.add(loaded.name)
        if self.library is not None:
            for model in self.library.list():
                if model.name not in seen and not model.error:
                    ctx = model.meta.context_length if model.meta else None
                    out.append(_model_object(model.name, False, ctx))
        return out

    # -- idle unload ---------------------------------------------------------------------
    def _ensure_reaper(self) -> None:
        if self.settings.idle_unload_s > 0 and self._reaper is None:
            self._reaper = threading.Thread(target=self._reap, name="fireside-idle-unload",
                                            daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        ttl = self.settings.idle_unload_s
        while not self._stop.wait(min(1.0, ttl / 4)):
            with self._load_lock:
                loaded = self.engine.loaded
                idle = time.monotonic() - self._last_used
                # By identity, not by name: the window may have loaded the same name since.
                due = (self._jit is not None and loaded is self._jit
                       and self._in_flight == 0 and idle >= ttl)
                if due and loaded is not None:
                    log.info("unloading %s after %.0f s idle", loaded.name, idle)
                    self.engine.unload()
                    self._jit = None

    def close(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=5)
            self._reaper = None


def _model_object(name: str, loaded: bool, n_ctx: int | None) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "fireside",
            "loaded": loaded, "context_length": n_ctx}
