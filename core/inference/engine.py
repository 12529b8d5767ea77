"""The one owner of the loaded model.

The chat window, the CLI and the HTTP server all call this object; none of them holds a
``Llama`` of its own, so the weights are in memory once. Requests may come from any thread;
every llama.cpp call is made on one owner thread (:mod:`owner` says why), where concurrent
generation requests decode together in one batch (:mod:`batch`): admitted in arrival order by
what they hold now, the last to arrive preempted when the cache runs short. Tokens stream back
through a callback called on that thread; a :class:`CancelToken` stops a request between
tokens, or at once while it is still queued. Tokenizing runs on the caller's thread beside the
batch (:mod:`readers`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fireside.core.errors import (
    ContextOverflowError,
    FiresideError,
    ModelNotLoadedError,
)
from fireside.core.inference import media, reasoning, templates
from fireside.core.inference.batch import Batcher, widen_context
from fireside.core.inference.handle import Handle
from fireside.core.inference.owner import OwnerThread
from fireside.core.inference.readers import ModelReaders
from fireside.core.inference.sequence import Sequence
from fireside.core.inference.types import (
    KV_CACHE_TYPES,
    CancelToken,
    ChatRequest,
    Completion,
    LoadSettings,
    Request,
    SamplingParams,
    TextRequest,
)
from fireside.core.models import preflight
from fireside.core.models.meta import ModelMeta, read_meta

log = logging.getLogger("fireside.engine")
TokenCallback = Callable[[str], None]
_T = TypeVar("_T")
Listener = Callable[[str, "LoadedModel | None"], None]


@dataclass(frozen=True)
class LoadedModel:
    name: str
    path: Path
    settings: LoadSettings
    meta: ModelMeta
    n_ctx: int
    load_s: float
    loaded_by: str = ""  # "chat", "server", "cli": who asked, so others know whose it is
    projector: Path | None = None  # the vision projector loaded with it: it reads images
    projector_error: str = ""  # why a projector beside it could not be loaded


class Engine:
    """Thread-safe facade over one ``llama_cpp.Llama``."""

    def __init__(self) -> None:
        self._owner = OwnerThread(self)
        self._llm: Any = None
        self._loaded: LoadedModel | None = None
        self._listeners: list[Listener] = []
        self._state_lock = threading.Lock()
        self._batcher: Batcher | None = None
        self._projector: media.Projector | None = None
        self._readers = ModelReaders()

    # -- state ---------------------------------------------------------------------------
    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def queued(self) -> int:
        return self._owner.queued

    def favour_window(self) -> None:
        """A window shares this process: the engine's threads run niced, so its GUI thread
        never waits behind them (from the engine thread's next start; see ``owner``)."""
        from fireside.core.inference.owner import ENGINE_NICE

        self._owner.nice = ENGINE_NICE

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
             name: str | None = None, *, by: str = "") -> LoadedModel:
        """Load ``path`` (replacing any loaded model). Raises FiresideError on bad files.

        ``by`` says who asked ("chat", "server"), so the server knows not to swap out the
        model a person is chatting with.
        """
        settings = settings or LoadSettings()
        meta = read_meta(path)  # a clear error for non-GGUF and truncated files
        preflight.check(path)  # one that would crash llama.cpp is refused in a child first
        if settings.kv_cache_type not in KV_CACHE_TYPES:
            raise FiresideError(f"unknown KV cache type {settings.kv_cache_type!r}")
        loaded = self._owner.call(lambda: self._load_owned(path, settings, meta, name, by))
        self._notify("loaded", loaded)
        return loaded

    def _load_owned(self, path: Path, settings: LoadSettings, meta: ModelMeta,
                    name: str | None, by: str) -> LoadedModel:
        from llama_cpp import Llama

        self._unload_owned()
        n_ctx = settings.n_ctx or meta.context_length or 4096
        kv_type = KV_CACHE_TYPES[settings.kv_cache_type]
        # llama.cpp only quantizes the V cache with flash attention on.
        flash = settings.flash_attn or settings.kv_cache_type != "f16"
        start = time.perf_counter()
        slots = settings.slots(meta.sliding_window)
        kwargs: dict[str, Any] = dict(
            # with several slots the real context is made by widen_context(); this first one
            # is a placeholder kept small so the KV cache is never allocated twice
            model_path=str(path), n_ctx=n_ctx if slots == 1 else 64,
            n_batch=settings.n_batch,
            n_threads=settings.n_threads or default_threads(),
            n_gpu_layers=settings.n_gpu_layers, flash_attn=flash,
            type_k=kv_type, type_v=kv_type, use_mmap=settings.use_mmap,
            use_mlock=settings.use_mlock, swa_full=settings.swa_full,
            seed=settings.seed if settings.seed >= 0 else 0xFFFFFFFF, verbose=False)
        try:
            try:
                llm = Llama(**kwargs)
            except ValueError:
                if not flash or settings.kv_cache_type != "f16":
                    raise
                log.info("flash attention unavailable here; loading without it")
                llm = Llama(**{**kwargs, "flash_attn": False})
            if slots > 1:
                widen_context(llm, n_ctx, settings.n_batch, slots)
        except (ValueError, RuntimeError, OSError) as exc:
            raise FiresideError(
                f"llama.cpp could not load {path.name} with these settings "
                f"(context {n_ctx}, KV {settings.kv_cache_type}, GPU layers "
                f"{settings.n_gpu_layers}): {exc}") from exc
        projector, projector_error = media.load_projector(
            path, settings.projector, llm._model.model,
            n_threads=settings.n_threads or default_threads(), use_gpu=settings.n_gpu_layers != 0)
        loaded = LoadedModel(name or path.stem, path, settings, meta, llm.n_ctx(),
                             time.perf_counter() - start, by,
                             projector.path if projector else None, projector_error)
        self._llm, self._loaded, self._projector = llm, loaded, projector
        self._batcher = Batcher(llm, slots, loaded.n_ctx, settings.n_batch, projector)
        log.info("loaded %s (ctx %d) in %.2fs", loaded.name, loaded.n_ctx, loaded.load_s)
        return loaded

    def unload(self) -> None:
        def drop() -> bool:
            was = self._loaded is not None
            self._unload_owned()
            return was

        if self._owner.call(drop):
            self._notify("unloaded", None)

    def _unload_owned(self) -> None:
        with self._readers.swapping():  # a tokenize in progress finishes first
            if self._batcher is not None:
                self._batcher.close()
            if self._projector is not None:  # it holds the model: freed before it
                self._projector.close()
            if self._llm is not None:
                self._llm.close()
            self._llm, self._loaded, self._batcher, self._projector = None, None, None, None

    def release_thread(self, timeout: float | None = None) -> bool:
        """End the owner thread after the calls already queued (a window closing); the model
        stays loaded and the next call starts a new thread. True if the thread ended."""
        return self._owner.close(timeout)

    def _require(self) -> tuple[Any, LoadedModel]:
        if self._llm is None or self._loaded is None:
            raise ModelNotLoadedError("no model is loaded")
        return self._llm, self._loaded

    # -- text ----------------------------------------------------------------------------
    def tokenize(self, text: str, *, special: bool = True, add_bos: bool = False) -> list[int]:
        """On the calling thread, beside the batch: it reads the vocabulary only."""
        with self._readers.reading():
            llm, _ = self._require()
            return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def detokenize(self, ids: list[int]) -> str:
        """Token ids back to text, beside the batch like :meth:`tokenize`."""
        from fireside.core.inference.embed import check_token_ids

        with self._readers.reading():
            llm, _ = self._require()
            data = llm.detokenize(check_token_ids(llm, ids, "tokens"))
        return bytes(data).decode("utf-8", errors="replace")

    def slots(self) -> list[dict[str, Any]]:
        """Each slot of the batch: cached tokens and whether a request is using it."""
        batcher = self._batcher
        if batcher is None:
            return []
        busy = {seq.slot: seq for seq in list(self._owner.running)}
        return [{"id": i, "n_cached": len(cached), "is_processing": i in busy,
                 "n_decoded": len(busy[i].decoded) if i in busy else 0}
                for i, cached in enumerate(list(batcher.slots))]

    def render_chat(self, messages: list[dict[str, Any]],
                    tools: list[dict[str, Any]] | None = None, *,
                    continue_final: bool = False) -> str:
        """The prompt text; ``continue_final`` leaves the last (assistant) message open, so
        the model goes on writing it (vLLM's ``continue_final_message``). An image part shows
        as llama-server's ``<__media__>``."""
        return self._render(messages, tools, continue_final, media.DEFAULT_MARKER)[0]

    def _render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                continue_final: bool, marker: str) -> tuple[str, list[dict[str, Any]]]:
        """The prompt text (``marker`` where each image goes) and the images, in order."""
        with self._readers.reading():  # the token texts come from the model: hold it
            llm, loaded = self._require()
            bos = self._token_text(llm, loaded.meta.bos_token_id)
            eos = self._token_text(llm, loaded.meta.eos_token_id)
        messages, images = media.flatten(messages, marker)
        text = templates.render(loaded.meta.chat_template, messages, bos_token=bos,
                                eos_token=eos, tools=tools,
                                add_generation_prompt=not continue_final)
        return (templates.open_final(text, messages) if continue_final else text), images

    @staticmethod
    def _token_text(llm: Any, token_id: int | None) -> str:
        if token_id is None or token_id < 0:
            return ""
        return str(llm._model.token_get_text(token_id))

    def submit(self, request: Request, *, on_token: TokenCallback | None = None,
               cancel: CancelToken | None = None) -> Handle:
        """Queue ``request`` on the batch and return its :class:`Handle` at once.

        The one way in for every front (window, server, CLI): the handle streams the text
        (pulled with ``take``/``stream``, or pushed to ``on_token`` on the engine thread),
        stops the request and waits for its :class:`Completion`. The prompt is rendered and
        tokenized on the engine thread when the request's turn comes, so submitting never
        blocks. A request of higher ``priority`` (the window's chat: 1) finding the batch full
        makes API requests of lower priority pause for it. ``cancel`` lets a caller stop it
        with a token of its own (a server stopping every stream at once).
        """
        params = request.params
        if isinstance(request, ChatRequest):
            messages, tools = request.messages, request.tools
            continue_final = request.continue_final

            def prepare() -> tuple[list[int], list[str]]:
                llm, loaded = self._require()
                projector = self._projector
                prompt, images = self._render(
                    messages, tools, continue_final,
                    projector.marker if projector else media.DEFAULT_MARKER)
                seq.prompt_text = prompt
                seq.opens_thinking = reasoning.opens_thinking(prompt)
                stop = list(params.stop)
                eos = self._token_text(llm, loaded.meta.eos_token_id)
                if eos and eos not in stop:
                    stop.append(eos)
                bos = self._token_text(llm, loaded.meta.bos_token_id) or "\0"
                add_bos = not prompt.startswith(bos)
                if images:
                    seq.media = media.tokenize(self._projector, loaded.projector_error, prompt,
                                               images, add_bos)
                    return list(seq.media.tokens), stop
                return list(llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos,
                                         special=True)), stop
        else:
            text = request.prompt

            def prepare() -> tuple[list[int], list[str]]:
                llm, _ = self._require()
                seq.prompt_text = text if isinstance(text, str) else ""
                if isinstance(text, list):  # token ids from an API client
                    from fireside.core.inference.embed import check_token_ids

                    return list(check_token_ids(llm, text, "prompt")), list(params.stop)
                return list(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)), \
                    list(params.stop)

        seq = Sequence(prepare, params, request.grammar, None, cancel)
        seq.priority = request.priority
        handle = Handle(seq, on_token)
        self._owner.submit(seq)
        return handle

    def chat(self, messages: list[dict[str, Any]], params: SamplingParams | None = None,
             on_token: TokenCallback | None = None, cancel: CancelToken | None = None,
             *, grammar: Any = None, tools: list[dict[str, Any]] | None = None,
             priority: int = 0) -> Completion:
        """Answer a conversation and wait for it: :meth:`submit` plus ``result()``."""
        request = ChatRequest(messages, params or SamplingParams(), tools, grammar, priority)
        return self.submit(request, on_token=on_token, cancel=cancel).result()

    def complete(self, prompt: str, params: SamplingParams | None = None,
                 on_token: TokenCallback | None = None, cancel: CancelToken | None = None,
                 *, grammar: Any = None) -> Completion:
        """Continue raw text (no chat template) and wait for it."""
        request = TextRequest(prompt, params or SamplingParams(), grammar)
        return self.submit(request, on_token=on_token, cancel=cancel).result()

    # -- the batch: called by the owner thread -------------------------------------------
    def prepare(self, seq: Sequence) -> None:
        _, loaded = self._require()
        seq.prepare(loaded.n_ctx)
        if len(seq.tokens) >= loaded.n_ctx:
            raise ContextOverflowError(
                f"the prompt is {len(seq.tokens)} tokens but the context holds {loaded.n_ctx}",
                len(seq.tokens), loaded.n_ctx)

    def can_join(self, seq: Sequence, running: list[Sequence]) -> bool:
        return self._batcher is not None and self._batcher.can_join(seq, running)

    def make_room(self, running: list[Sequence]) -> list[Sequence]:
        return self._batcher.make_room(running) if self._batcher is not None else []

    def make_way(self, seq: Sequence, running: list[Sequence]) -> list[Sequence]:
        return self._batcher.make_way(seq, running) if self._batcher is not None else []

    def start(self, seq: Sequence, running: list[Sequence]) -> bool:
        if seq.cancelled:  # its client left while it was queued
            seq.finish = "cancelled"
            return False
        if self._batcher is None:
            raise ModelNotLoadedError("no model is loaded")
        return self._batcher.start(seq, running)

    def step(self, running: list[Sequence]) -> list[Sequence]:
        assert self._batcher is not None
        return self._batcher.step(running)

    def finish(self, seq: Sequence, error: BaseException | None) -> None:
        if self._batcher is not None:
            (self._batcher.drop if error or seq.error else self._batcher.release)(seq)
        else:
            seq.close()
        try:
            result = seq.completion(self._loaded.n_ctx if self._loaded else 0)
            result.model = self._loaded.name if self._loaded else ""
            result.opens_thinking = seq.opens_thinking
        except BaseException as exc:  # noqa: BLE001 - e.g. the callback failed on the tail
            error = error or exc
        error = error or seq.error
        if error is not None:
            seq.future.set_exception(error)
        else:
            seq.future.set_result(result)

    # -- embeddings and reranking ---------------------------------------------------------
    def embed(self, inputs: Seq[str | list[int] | list[int | str]]) -> list[list[float]]:
        """Mean-pooled, normalised embeddings: :meth:`embed_counted` without the count."""
        return self.embed_counted(inputs)[0]

    def embed_counted(self, inputs: Seq[str | list[int] | list[int | str]]
                      ) -> tuple[list[list[float]], int]:
        """Embeddings of texts or token-id lists, and the tokens read, from the loaded context."""
        from fireside.core.inference.embed import embed_tokens, input_tokens

        def run(llm: Any, n_ctx: int) -> tuple[list[list[float]], int]:
            token_lists = [input_tokens(llm, item) for item in inputs]
            return ([embed_tokens(llm, tokens, n_ctx) for tokens in token_lists],
                    sum(map(len, token_lists)))
        return self._owner.call(lambda: self._in_embeddings_mode(run))

    def rerank(self, query: str, documents: Seq[str]) -> tuple[list[float], int]:
        """Each document's relevance to ``query`` (input order) and the tokens read; a model
        without a ranking head raises :class:`~fireside.core.inference.rerank.CannotRerankError`."""
        from fireside.core.inference.rerank import rerank_scores

        return self._owner.call(lambda: self._in_embeddings_mode(
            lambda llm, n_ctx: rerank_scores(llm, query, list(documents), n_ctx)))

    def _in_embeddings_mode(self, fn: Callable[[Any, int], _T]) -> _T:
        from fireside.core.inference.embed import embeddings_mode

        llm, loaded = self._require()
        try:
            with embeddings_mode(llm):
                return fn(llm, loaded.n_ctx)
        finally:
            if self._batcher is not None:
                self._batcher.forget()  # the KV cache was cleared behind the batch's back


def default_threads() -> int:
    """Physical cores are what llama.cpp decodes fastest with; leave none idle on 2 cores."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except Exception:
        return max(1, os.cpu_count() or 1)
