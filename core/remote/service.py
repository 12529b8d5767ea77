"""The remote side of Fireside in one object: providers, their model lists, answers.

:meth:`Remote.submit` gives back the same :class:`~fireside.core.inference.handle.Handle` as
:meth:`Engine.submit` (take / stream / cancel / result), fed by one thread per request instead
of the engine's batch, so the window's frame timer, the CLI and the server need no second code
path. Model lists are cached on disk for :data:`MODELS_TTL_S` (``fireside ls`` stays quick and
works offline for a while); :meth:`Remote.models` with ``refresh`` asks again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fireside.core.atomic import locked, write_json_atomic
from fireside.core.inference.types import ChatRequest, Completion
from fireside.core.remote.client import RemoteClient, RemoteModel, ShutOnCancel
from fireside.core.remote.errors import RemoteError
from fireside.core.remote.providers import Provider, ProviderStore, split_ref
from fireside.core.secrets import SecretStore

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle

log = logging.getLogger("fireside.remote")
MODELS_TTL_S = 600.0
CACHE_NAME = "remote-models.json"


@dataclass
class TestResult:
    """What ``fireside provider test`` and the window's "Test connection" show."""

    ok: bool
    latency_ms: float
    model_count: int
    message: str


class _Job:
    """What a :class:`Handle` reads from a request (the engine's ``Sequence`` has the same)."""

    def __init__(self) -> None:
        self.cancel = ShutOnCancel()
        self.on_token: Callable[[str], None] | None = None
        self.on_progress: Callable[[int, int], None] | None = None
        self.future: Future[Completion] = Future()
        self.opens_thinking = False
        self.emitted_upto = 0  # a provider's text comes without token ids or probabilities
        self.generated: list[int] = []
        self.probs: list[Any] = []
        self.cached = 0


class Remote:
    def __init__(self, config_dir: Path, cache_dir: Path, secrets: SecretStore, *,
                 connect_timeout: float | None = None, read_timeout: float | None = None) -> None:
        self.store = ProviderStore(config_dir, secrets)
        self.cache_file = cache_dir / CACHE_NAME
        self._timeouts: dict[str, float] = {}
        if connect_timeout is not None:
            self._timeouts["connect_timeout"] = connect_timeout
        if read_timeout is not None:
            self._timeouts["read_timeout"] = read_timeout

    # -- providers -----------------------------------------------------------------------
    def client(self, provider: Provider | str) -> RemoteClient:
        p = self.store.get(provider) if isinstance(provider, str) else provider
        return RemoteClient(p, self.store.api_key(p.name), **self._timeouts)

    def resolve(self, ref: str) -> tuple[Provider, str] | None:
        """The provider and model id of ``PROVIDER:MODEL_ID`` when PROVIDER is configured."""
        parts = split_ref(ref)
        if parts is None:
            return None
        provider = self.store.find(parts[0])
        return (provider, parts[1]) if provider is not None else None

    # -- model lists ---------------------------------------------------------------------
    def models(self, name: str, *, refresh: bool = False) -> list[RemoteModel]:
        provider = self.store.get(name)
        if not refresh:
            cached = self._cached(provider)
            if cached is not None:
                return cached
        models = self.client(provider).list_models()
        with locked(self.cache_file):
            cache = self._read_cache()
            cache[name] = {"fetched": time.time(), "base_url": provider.base_url,
                           "filter": provider.model_filter,
                           "models": [{k: v for k, v in m.to_json().items() if k != "ref"}
                                      for m in models]}
            write_json_atomic(self.cache_file, cache)
        return models

    def all_models(self, *, refresh: bool = False,
                   on_error: Callable[[str, RemoteError], None] | None = None
                   ) -> list[RemoteModel]:
        """Every enabled provider's models; a provider that fails is skipped (and reported)."""
        out: list[RemoteModel] = []
        for provider in self.store.list():
            if not provider.enabled:
                continue
            try:
                out.extend(self.models(provider.name, refresh=refresh))
            except RemoteError as exc:
                log.info("models of %s unavailable: %s", provider.name, exc)
                if on_error is not None:
                    on_error(provider.name, exc)
        return out

    def _cached(self, provider: Provider) -> list[RemoteModel] | None:
        entry = self._read_cache().get(provider.name)
        if not isinstance(entry, dict) or entry.get("base_url") != provider.base_url \
                or entry.get("filter") != provider.model_filter:
            return None
        if time.time() - float(entry.get("fetched") or 0) > MODELS_TTL_S:
            return None
        try:
            return [RemoteModel(**m) for m in entry.get("models", [])]
        except TypeError:
            return None

    def _read_cache(self) -> dict[str, Any]:
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def test(self, name: str) -> TestResult:
        """One short request (the model list): how long it took, how many, or what failed."""
        started = time.perf_counter()
        try:
            count = len(self.models(name, refresh=True))
        except RemoteError as exc:
            return TestResult(False, (time.perf_counter() - started) * 1000, 0, str(exc))
        ms = (time.perf_counter() - started) * 1000
        return TestResult(True, ms, count, f"{name} answered in {ms:.0f} ms: {count} models")

    # -- answers -------------------------------------------------------------------------
    def submit(self, ref: str, request: ChatRequest, *,
               on_notice: Callable[[str], None] | None = None) -> Handle:
        """Start answering ``request`` with remote model ``ref``; returns at once."""
        from fireside.core.inference.handle import Handle

        resolved = self.resolve(ref)
        if resolved is None:
            raise RemoteError(f"{ref!r} names no configured provider")
        provider, model_id = resolved
        if not provider.enabled:
            raise RemoteError(f"the provider {provider.name} is turned off; turn it on in "
                              "Settings → Providers or `fireside provider add` it again")
        client = self.client(provider)
        job = _Job()
        handle = Handle(cast(Any, job))
        messages = [dict(m) for m in request.messages]

        def run() -> None:
            if not job.future.set_running_or_notify_cancel():
                return
            try:
                on_text = job.on_token or (lambda _t: None)
                done = client.chat(model_id, messages, request.params, on_text=on_text,
                                   cancel=job.cancel, on_notice=on_notice,
                                   on_socket=job.cancel.attach)
            except BaseException as exc:  # noqa: BLE001 - every failure reaches the handle
                if not isinstance(exc, RemoteError):
                    log.exception("remote request to %s failed", ref)
                job.future.set_exception(exc)
            else:
                job.future.set_result(done)

        threading.Thread(target=run, name=f"fireside-remote-{provider.name}",
                         daemon=True).start()
        return handle
