"""The one owner of the loaded model.

The chat window, the CLI and the HTTP server all call this object; none of them holds a
``Llama`` of its own, so the weights are in memory once. Requests may come from any thread and
are served one at a time in arrival order (:class:`FairLock`); tokens stream back through a
callback in the caller's thread, and a :class:`CancelToken` stops a request between tokens.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fireside.core.errors import (
    ContextOverflowError,
    FiresideError,
    ModelNotLoadedError,
)
from fireside.core.inference import decode_loop, templates
from fireside.core.inference.fairlock import FairLock
from fireside.core.inference.types import (
    KV_CACHE_TYPES,
    CancelToken,
    Completion,
    LoadSettings,
    SamplingParams,
    Stats,
)
from fireside.core.models.meta import ModelMeta, read_meta

log = logging.getLogger("fireside.engine")
TokenCallback = Callable[[str], None]
Listener = Callable[[str, "LoadedModel | None"], None]


@dataclass(frozen=True)
class LoadedModel:
    name: str
    path: Path
    settings: LoadSettings
    meta: ModelMeta
    n_ctx: int
    load_s: float


class Engine:
    """Thread-safe facade over one ``llama_cpp.Llama``."""

    def __init__(self) -> None:
        self._lock = FairLock()
        self._llm: Any = None
        self._loaded: LoadedModel | None = None
        self._listeners: list[Listener] = []
        self._state_lock = threading.Lock()
        self._kv = decode_loop.KVState()

    # -- state ---------------------------------------------------------------------------
    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def queued(self) -> int:
        return self._lock.queued

    def add_listener(self, listener: Listener) -> None:
        """``listener(event, model)`` on "loaded"/"unloaded", in the loading thread."""
        with self._state_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (its window closed); one that is not registered is fine."""
        with self._state_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, event: str, model: LoadedModel | None) -> None:
        with self._state_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, model)
            except Exception:
                log.exception("engine listener failed")

    # -- load / unload -------------------------------------------------------------------
    def load(self, path: Path, settings: LoadSettings | None = None,
             name: str | None = None) -> LoadedModel:
        """Load ``path`` (replacing any loaded model). Raises FiresideError on bad files."""
        settings = settings or LoadSettings()
        meta = read_meta(path)  # a clear error for non-GGUF and truncated files
        if settings.kv_cache_type not in KV_CACHE_TYPES:
            raise FiresideError(f"unknown KV cache type {settings.kv_cache_type!r}")
        from llama_cpp import Llama

        with self._lock.hold():
            self._unload_locked()
            n_ctx = settings.n_ctx or meta.context_length or 4096
            kv_type = KV_CACHE_TYPES[settings.kv_cache_type]
            # llama.cpp only quantizes the V cache with flash attention on.
            flash = settings.flash_attn or settings.kv_cache_type != "f16"
            start = time.perf_counter()
            kwargs: dict[str, Any] = dict(
                model_path=str(path), n_ctx=n_ctx, n_batch=settings.n_batch,
                n_threads=settings.n_threads or default_threads(),
                n_gpu_layers=settings.n_gpu_layers, flash_attn=flash,
                type_k=kv_type, type_v=kv_type, use_mmap=settings.use_mmap,
                use_mlock=settings.use_mlock,
                seed=settings.seed if settings.seed >= 0 else 0xFFFFFFFF, verbose=False)
            try:
                try:
                    llm = Llama(**kwargs)
                except ValueError:
                    if not flash or settings.kv_cache_type != "f16":
                        raise
                    log.info("flash attention unavailable here; loading without it")
                    llm = Llama(**{**kwargs, "flash_attn": False})
            except (ValueError, RuntimeError, OSError) as exc:
                raise FiresideError(
                    f"llama.cpp could not load {path.name} with these settings "
                    f"(context {n_ctx}, KV {settings.kv_cache_type}, GPU layers "
                    f"{settings.n_gpu_layers}): {exc}") from exc
            loaded = LoadedModel(name or path.stem, path, settings, meta, llm.n_ctx(),
                                 time.perf_counter() - start)
            self._llm, self._loaded = llm, loaded
            log.info("loaded %s (ctx %d) in %.2fs", loaded.name, loaded.n_ctx, loaded.load_s)
        self._notify("loaded", loaded)
        return loaded

    def unload(self) -> None:
        with self._lock.hold():
            was = self._loaded is not None
            self._unload_locked()
        if was:
            self._notify("unloaded", None)

    def _unload_locked(self) -> None:
        if self._llm is not None:
            self._llm.close()
        self._kv = decode_loop.KVState()
        self._llm, self._loaded = None, None

    def _require(self) -> tuple[Any, LoadedModel]:
        if self._llm is None or self._loaded is None:
            raise ModelNotLoadedError("no model is loaded")
        return self._llm, self._loaded

    # -- text ----------------------------------------------------------------------------
    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        with self._lock.hold():
            llm, _ = self._require()
            return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def render_chat(self, messages: list[dict[str, Any]],
                    tools: list[dict[str, Any]] | None = None) -> str:
        llm, loaded = self._require()
        return templates.render(loaded.meta.chat_template, messages,
                                bos_token=self._token_text(llm, loaded.meta.bos_token_id),
                                eos_token=self._token_text(llm, loaded.meta.eos_token_id),
                                tools=tools)

    @staticmethod
    def _token_text(llm: Any, token_id: int | None) -> str:
        if token_id is None or token_id < 0:
            return ""
        return str(llm._model.token_get_text(token_id))

    def chat(self, messages: list[dict[str, Any]], params: SamplingParams | None = None,
             on_token: TokenCallback | None = None, cancel: CancelToken | None = None,
             *, grammar: Any = None, tools: list[dict[str, Any]] | None = None) -> Completion:
        """Answer a conversation, rendered with the model's own template."""
        params = params or SamplingParams()
        with self._lock.hold():
            llm, loaded = self._require()
            prompt = self.render_chat(messages, tools)
            stop = list(params.stop)
            eos = self._token_text(llm, loaded.meta.eos_token_id)
            if eos and eos not in stop:
                stop.append(eos)
            tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=not prompt.startswith(
                self._token_text(llm, loaded.meta.bos_token_id) or "\0"), special=True))
            return self._generate(llm, loaded, tokens, params, stop, on_token, cancel, grammar)

    def complete(self, prompt: str, params: SamplingParams | None = None,
                 on_token: TokenCallback | None = None, cancel: CancelToken | None = None,
                 *, grammar: Any = None) -> Completion:
        """Continue raw text (no chat template)."""
        params = params or SamplingParams()
        with self._lock.hold():
            llm, loaded = self._require()
            tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))
            return self._generate(llm, loaded, tokens, params, list(params.stop), on_token,
                                  cancel, grammar)

    def _generate(self, llm: Any, loaded: LoadedModel, tokens: list[int],
                  params: SamplingParams, stop: list[str], on_token: TokenCallback | None,
                  cancel: CancelToken | None, grammar: Any) -> Completion:
        import llama_cpp

        n_ctx = loaded.n_ctx
        if len(tokens) >= n_ctx:
            raise ContextOverflowError(
                f"the prompt is {len(tokens)} tokens but the context holds {n_ctx}",
                len(tokens), n_ctx)
        max_tokens = params.max_tokens if params.max_tokens and params.max_tokens > 0 else None
        room = n_ctx - len(tokens)
        max_tokens = min(max_tokens, room) if max_tokens else room
        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
        start = time.perf_counter()
        decode_loop.prefill(llm, self._kv, tokens, loaded.settings.n_batch)
        result = decode_loop.run(llm, self._kv, tokens, params, max_tokens, stop, grammar,
                                 on_token, cancel)
        end = time.perf_counter()
        perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
        stats = Stats(prompt_tokens=len(tokens), context_limit=n_ctx, total_s=end - start)
        stats.ttft_s = (result.first_token_at or end) - start
        stats.prefill_tokens = int(perf.n_p_eval)
        if perf.t_p_eval_ms > 0:
            stats.prefill_tokens_per_s = perf.n_p_eval / (perf.t_p_eval_ms / 1000)
        if perf.t_eval_ms > 0:
            stats.decode_tokens_per_s = perf.n_eval / (perf.t_eval_ms / 1000)
        stats.completion_tokens = result.completion_tokens
        stats.context_used = len(tokens) + stats.completion_tokens
        return Completion(result.text, result.finish_reason, stats)

    # -- embeddings ----------------------------------------------------------------------
    def embed(self, texts: list[str]) -> list[list[float]]:
        """Mean-pooled, normalised embeddings from the loaded model's context.

        The context is switched into embedding mode for the call and back afterwards, so no
        second copy of the model is ever loaded for it.
        """
        import llama_cpp

        with self._lock.hold():
            llm, loaded = self._require()
            out: list[list[float]] = []
            llm.context_params.embeddings = True
            llama_cpp.llama_set_embeddings(llm._ctx.ctx, True)
            try:
                for text in texts:
                    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
                    if len(tokens) >= loaded.n_ctx:
                        raise ContextOverflowError(
                            f"input is {len(tokens)} tokens; the context holds {loaded.n_ctx}",
                            len(tokens), loaded.n_ctx)
                    out.append(_pool(llm.embed(text, normalize=False, truncate=False)))
            finally:
                llama_cpp.llama_set_embeddings(llm._ctx.ctx, False)
                llm.context_params.embeddings = False
                llm.reset()
                self._kv.tokens = []  # embed() cleared the KV cache behind our back
            return out


def _pool(vectors: Any) -> list[float]:
    """Mean-pool per-token vectors (models without a pooling head) and L2-normalise."""
    rows = vectors if vectors and isinstance(vectors[0], list) else [vectors]
    dim = len(rows[0])
    mean = [sum(row[i] for row in rows) / len(rows) for i in range(dim)]
    norm = sum(v * v for v in mean) ** 0.5 or 1.0
    return [v / norm for v in mean]


def default_threads() -> int:
    """Physical cores are what llama.cpp decodes fastest with; leave none idle on 2 cores."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except Exception:
        return max(1, os.cpu_count() or 1)
