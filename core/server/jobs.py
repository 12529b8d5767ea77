"""Blocking engine calls run off the event loop, with cancellation tied to the client.

A job runs on the server's thread pool and reports through an ``asyncio.Queue`` fed with
``call_soon_threadsafe``: tokens, then exactly one "done" or "error". A plain async generator
turns that into SSE for a ``StreamingResponse`` (no sse-starlette: its shutdown handling hangs
uvicorn's exit). When the consumer goes away — the client disconnects, or the server is
stopping — the job's :class:`CancelToken` is set and the engine stops between two tokens.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any

from fireside.core.errors import (
    ContextOverflowError,
    FiresideError,
    ModelNotLoadedError,
    TemplateError,
)
from fireside.core.inference.types import CancelToken, Completion
from fireside.core.server.params import ApiError

log = logging.getLogger("fireside.server")
Work = Callable[[Callable[[str], None] | None, CancelToken], Completion]
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
        return ApiError(413, f"This model's maximum context length is {exc.n_ctx} tokens, but "
                        f"the request needs {exc.prompt_tokens}. {exc}", param="messages",
                        code="context_length_exceeded")
    if isinstance(exc, ModelNotLoadedError):
        return ApiError(503, "no model is loaded", "server_error", "model", "model_not_loaded")
    if isinstance(exc, TemplateError):
        return ApiError(400, str(exc), param="messages", code="template_error")
    if isinstance(exc, FiresideError):
        return ApiError(500, str(exc), "server_error", None, "engine_error")
    log.error("request failed", exc_info=exc)
    return ApiError(500, f"internal error: {type(exc).__name__}", "server_error", None,
                    "internal_error")


class Registry:
    """Live jobs' cancel tokens, so a stopping server can end every stream at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: set[CancelToken] = set()
        self.closing = False

    def add(self, token: CancelToken) -> None:
        with self._lock:
            self._tokens.add(token)
            if self.closing:
                token.cancel()

    def discard(self, token: CancelToken) -> None:
        with self._lock:
            self._tokens.discard(token)

    def cancel_all(self) -> None:
        with self._lock:
            self.closing = True
            for token in self._tokens:
                token.cancel()


class Job:
    """One engine call on the pool; ``on_finish`` runs in the worker when the engine is free."""

    def __init__(self, work: Work, executor: Executor, registry: Registry,
                 on_finish: Callable[[], None], *, stream: bool) -> None:
        self.cancel = CancelToken()
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._registry = registry
        # Tokens wait here; the loop is woken once per batch, not once per token, so a busy
        # loop thread coalesces text instead of fighting the decode thread for the GIL.
        self._pending: list[str] = []
        self._pending_lock = threading.Lock()
        self._woken = False
        self._ended = asyncio.Event()
        registry.add(self.cancel)

        def deliver(event: tuple[str, Any]) -> None:
            self.queue.put_nowait(event)
            if event[0] != "token":
                self._ended.set()

        def put(kind: str, value: Any) -> None:
            try:
                self._loop.call_soon_threadsafe(deliver, (kind, value))
            except RuntimeError:  # the loop is gone: the server stopped under us
                self.cancel.cancel()

        def on_token(text: str) -> None:
            with self._pending_lock:
                self._pending.append(text)
                if self._woken:
                    return
                self._woken = True
            put("token", None)

        def run() -> None:
            try:
                result = work(on_token if stream else None, self.cancel)
                put("done", result)
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the client
                put("error", exc)
            finally:
                registry.discard(self.cancel)
                on_finish()

        executor.submit(run)

    async def next(self, not_before: float = 0.0) -> tuple[str, Any]:
        """The next event; a "token" event carries all text generated since the last one.

        A token event is held until the loop clock reaches ``not_before`` so that text
        gathers into fewer chunks, unless the job ends meanwhile.
        """
        kind, value = await self.queue.get()
        delay = not_before - self._loop.time()
        if kind == "token" and delay > 0 and not self._ended.is_set():
            try:
                await asyncio.wait_for(self._ended.wait(), delay)
            except TimeoutError:
                pass
        if kind == "token":
            with self._pending_lock:
                value = "".join(self._pending)
                self._pending.clear()
                self._woken = False
        return kind, value

    async def result(self, receive: Callable[[], Any]) -> Completion:
        """Wait for a non-streamed answer, cancelling it if the client hangs up meanwhile."""
        watcher = asyncio.ensure_future(self.watch_disconnect(receive))
        try:
            while True:
                kind, value = await self.next()
                if kind == "done":
                    return value
                if kind == "error":
                    raise as_api_error(value)
        finally:
            watcher.cancel()

    async def first(self, receive: Callable[[], Any]) -> tuple[str, Any]:
        """The first event of a stream, so errors (413, 503…) still get their status code."""
        watcher = asyncio.ensure_future(self.watch_disconnect(receive))
        try:
            kind, value = await self.next()
        finally:
            watcher.cancel()
        if kind == "error":
            raise as_api_error(value)
        return kind, value

    async def watch_disconnect(self, receive: Callable[[], Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.cancel.cancel()
                return


async def sse(job: Job, first: tuple[str, Any], on_token: Callable[[str], str],
              on_done: Callable[[Completion], list[str]]) -> AsyncIterator[str]:
    """SSE text for a job; closing the generator (client gone) cancels the generation."""
    loop = asyncio.get_running_loop()
    event: tuple[str, Any] | None = first
    not_before = 0.0
    try:
        while True:
            kind, value = event if event is not None else await job.next(not_before)
            event = None
            if kind == "token":
                if value:
                    not_before = loop.time() + STREAM_INTERVAL_S
                    yield on_token(value)
            elif kind == "done":
                for chunk in on_done(value):
                    yield chunk
                yield "data: [DONE]\n\n"
                return
            else:
                err = as_api_error(value)
                yield f"data: {err_json(err)}\n\n"
                return
    finally:
        job.cancel.cancel()  # no-op after a normal end; stops the engine if we were cut off


def err_json(err: ApiError) -> str:
    import json

    return json.dumps(err.body())
