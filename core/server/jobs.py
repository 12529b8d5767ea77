"""Engine requests seen from the event loop, with cancellation tied to the client.

A request is submitted to the engine at once (:meth:`Engine.submit` never blocks) and its
:class:`Handle` wakes the loop with ``call_soon_threadsafe`` when there is news: text, or the
end. A plain async generator turns that into SSE for a ``StreamingResponse`` (no sse-starlette:
its shutdown handling hangs uvicorn's exit). When the consumer goes away — the client
disconnects, or the server is stopping — the handle is cancelled and the engine stops between
two tokens (or drops the request at once if it is still queued).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fireside.core.errors import (
    ContextOverflowError,
    FiresideError,
    GrammarError,
    ModelNotLoadedError,
    RequestError,
    TemplateError,
)
from fireside.core.inference.handle import Handle, Update
from fireside.core.inference.types import Completion
from fireside.core.server.params import ApiError

log = logging.getLogger("fireside.server")
Submit = Callable[[], Handle]
# A stream's chunks are at least this far apart (the end is never held back). Writing an SSE
# chunk costs the loop thread ~0.3 ms of CPU; per token, on 2 cores, that is stolen from
# llama.cpp's two compute threads (one then spins at a barrier), about 3% of decode speed.
# 25 ms is below what a reader sees and still several chunks a second for any client.
STREAM_INTERVAL_S = 0.025


def as_api_error(exc: BaseException) -> ApiError:
    """Engine failures → the HTTP status a client can act on."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ContextOverflowError):
        return ApiError(400, f"This model's maximum context length is {exc.n_ctx} tokens, but "
                        f"the request needs {exc.prompt_tokens}. {exc}", param="messages",
                        code="context_length_exceeded")
    if isinstance(exc, ModelNotLoadedError):
        return ApiError(503, "no model is loaded", "server_error", "model", "model_not_loaded")
    if isinstance(exc, RequestError):
        code = "invalid_grammar" if isinstance(exc, GrammarError) else "invalid_value"
        return ApiError(400, str(exc), param=exc.param, code=code)
    if isinstance(exc, TemplateError):
        return ApiError(400, str(exc), param="messages", code="template_error")
    if isinstance(exc, FiresideError):
        return ApiError(500, str(exc), "server_error", None, "engine_error")
    log.error("request failed", exc_info=exc)
    return ApiError(500, f"internal error: {type(exc).__name__}", "server_error", None,
                    "internal_error")


class Registry:
    """Live requests, so a stopping server can end every stream at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: set[Handle] = set()
        self.closing = False

    def add(self, handle: Handle) -> None:
        with self._lock:
            self._handles.add(handle)
            if self.closing:
                handle.cancel()

    def discard(self, handle: Handle) -> None:
        with self._lock:
            self._handles.discard(handle)

    def cancel_all(self) -> None:
        with self._lock:
            self.closing = True
            for handle in self._handles:
                handle.cancel()


class Job:
    """One engine request as the event loop sees it; ``on_finish`` runs once it has ended.

    ``live`` False holds the text back until the end (tool calls are only known then);
    ``progress`` makes prompt progress news of its own.
    """

    def __init__(self, handle: Handle, registry: Registry, on_finish: Callable[[], None],
                 *, live: bool = True, progress: bool = False) -> None:
        self.handle = handle
        self.live = live
        self.progress = progress  # prompt progress alone is news (llama-server's return_progress)
        self._loop = asyncio.get_running_loop()
        self._news = asyncio.Event()
        self._ended = asyncio.Event()
        registry.add(handle)

        def finished(done: Handle) -> None:
            registry.discard(done)
            on_finish()
            self._post(self._ended.set)

        handle.add_done_callback(finished)
        handle.notify(lambda: self._post(self._news.set))

    def _post(self, fn: Callable[[], None]) -> None:
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is gone: the server stopped under us
            self.handle.cancel()

    async def next(self, not_before: float = 0.0) -> Update:
        """The next text (all of it generated since the last one) or the end.

        Text is held until the loop clock reaches ``not_before`` so that it gathers into fewer
        chunks, unless the request ends meanwhile.
        """
        while True:
            if self.live:
                await self._news.wait()
            else:
                await self._ended.wait()
            self._news.clear()
            delay = not_before - self._loop.time()
            if delay > 0 and not self.handle.done():
                try:
                    await asyncio.wait_for(self._ended.wait(), delay)
                except TimeoutError:
                    pass
            update = self.handle.take()
            if update.ended or (self.live and (update.text or (
                    self.progress and update.progress is not None))):
                return update

    async def result(self, receive: Callable[[], Any]) -> Completion:
        """Wait for a non-streamed answer, cancelling it if the client hangs up meanwhile."""
        watcher = asyncio.ensure_future(self.watch_disconnect(receive))
        try:
            while True:
                update = await self.next()
                if update.ended:
                    return _answer(update)
        finally:
            watcher.cancel()

    async def first(self, receive: Callable[[], Any]) -> Update:
        """The first news of a stream, so errors (400, 503…) still get their status code."""
        watcher = asyncio.ensure_future(self.watch_disconnect(receive))
        try:
            update = await self.next()
        finally:
            watcher.cancel()
        if update.error is not None:
            raise as_api_error(update.error)
        return update

    async def watch_disconnect(self, receive: Callable[[], Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.handle.cancel()
                return


def _answer(update: Update) -> Completion:
    if update.error is not None:
        raise as_api_error(update.error)
    assert update.completion is not None
    return update.completion


async def sse(job: Job, first: Update, on_token: Callable[[Update], str],
              on_done: Callable[[Completion], list[str]],
              done: str = "data: [DONE]\n\n", *,
              on_error: Callable[[ApiError], str] | None = None) -> AsyncIterator[str]:
    """SSE text for a job; closing the generator (client gone) cancels the generation.

    ``done`` ends the stream (nothing for protocols without OpenAI's ``[DONE]``) and
    ``on_error`` reports a failure in the protocol's own event (Anthropic's, Responses').
    """
    loop = asyncio.get_running_loop()
    update: Update | None = first
    not_before = 0.0
    try:
        while True:
            news = update if update is not None else await job.next(not_before)
            update = None
            if job.live and (news.text or (job.progress and news.progress is not None)):
                not_before = loop.time() + STREAM_INTERVAL_S
                yield on_token(news)
            if not news.ended:
                continue
            if news.error is not None:
                err = as_api_error(news.error)
                yield on_error(err) if on_error is not None else f"data: {err_json(err)}\n\n"
                return
            assert news.completion is not None
            for chunk in on_done(news.completion):
                yield chunk
            if done:
                yield done
            return
    finally:
        job.handle.cancel()  # no-op after a normal end; stops the engine if we were cut off


def err_json(err: ApiError) -> str:
    return json.dumps(err.body())
