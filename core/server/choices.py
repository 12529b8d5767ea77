"""One HTTP request, several engine requests: OpenAI's ``n`` and prompt lists, and llama-server's
several prompts per ``/completion``.

Each answer is its own request on the engine's batch, so they decode together (parallel
sequences of one batch, as llama-server runs ``n``); the queue place taken at admission is given
back once, when the last of them ends. A non-streamed answer joins their bodies (``combine``);
a stream interleaves their events as they come, each marked with its ``index``, and ends with
``tail`` (one usage chunk for all) and the protocol's end marker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from fireside.core.inference.types import Completion, SamplingParams
from fireside.core.server.jobs import Job, Submit, sse
from fireside.core.server.params import ApiError

if TYPE_CHECKING:
    from fireside.core.server.app import ServerState

Combine = Callable[[list[tuple[dict[str, Any], Completion]]], Any]
Tail = Callable[[list[Completion]], list[str]]
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _once_all_done(count: int, fn: Callable[[], None]) -> Callable[[], None]:
    lock = threading.Lock()
    left = [count]

    def one_done() -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            fn()

    return one_done


def openai_usage(completions: list[Completion], n: int) -> dict[str, int]:
    """Usage of answers to one or more prompts, ``n`` answers each (prompt-major order):
    each prompt counted once, every answer's tokens."""
    prompt = sum(c.stats.prompt_tokens for c in completions[::n])
    written = sum(c.stats.completion_tokens for c in completions)
    return {"prompt_tokens": prompt, "completion_tokens": written,
            "total_tokens": prompt + written}


def samplings(params: SamplingParams, n: int) -> list[SamplingParams]:
    """One sampling per answer: a seeded request's answers get seeds seed, seed+1, … so they
    differ from each other and still repeat from one call to the next."""
    if n == 1:
        return [params]
    return [replace(params, seed=None if params.seed is None else (params.seed + i) & 0xFFFFFFFF)
            for i in range(n)]


def shared(fmts: list[Any]) -> list[Any]:
    """Formats of one response: one id and creation time; usage only in the tail."""
    for fmt in fmts[1:]:
        fmt.id, fmt.created = fmts[0].id, fmts[0].created
    if len(fmts) > 1:
        for fmt in fmts:
            fmt.include_usage = False
    return fmts


def openai_tail(fmt: Any, n: int, total: int) -> Tail | None:
    """The usage chunk for all ``total`` answers (``n`` per prompt) of a stream that asked
    for usage."""
    if total == 1 or not fmt.include_usage:
        return None

    def tail(completions: list[Completion]) -> list[str]:
        return [fmt.usage_event(openai_usage(completions, n), completions[-1])]
    return tail


def openai_combine(n: int) -> Combine:
    """Several OpenAI bodies as one: every choice, in order, and the usage of them all."""
    def combine(pairs: list[tuple[dict[str, Any], Completion]]) -> dict[str, Any]:
        if len(pairs) == 1:  # whatever the protocol's body (Anthropic's, Responses')
            return pairs[0][0]
        out = dict(pairs[0][0])
        out["choices"] = [c for body, _ in pairs for c in body["choices"]]
        out["usage"] = openai_usage([c for _, c in pairs], n)
        return out
    return combine


async def respond(request: Request, state: ServerState, submits: list[Submit],
                  fmts: list[Any], stream: bool, *, live: bool, combine: Combine,
                  tail: Tail | None = None,
                  on_error: Callable[[ApiError], str] | None = None) -> Response:
    """Submit every request (admission already taken) and answer as one JSON body or one
    SSE stream. ``fmts[i]`` formats answer ``i`` (its ``index`` set here)."""
    end = _once_all_done(len(submits), state.models.end)
    jobs: list[Job] = []
    try:
        for i, (submit, fmt) in enumerate(zip(submits, fmts, strict=True)):
            fmt.index = i
            handle = submit()
            fmt.attach(handle)
            jobs.append(Job(handle, state.registry, end, live=live,
                            progress=bool(getattr(fmt, "progress", False))))
    except BaseException:
        for job in jobs:
            job.handle.cancel()
        for _ in range(len(submits) - len(jobs)):
            end()
        raise
    try:
        if not stream:
            done = await asyncio.gather(*(job.result(request.receive) for job in jobs))
            return JSONResponse(combine([(f.body(c), c) for f, c in zip(fmts, done, strict=True)]))
        firsts = await asyncio.gather(*(job.first(request.receive) for job in jobs))
    except BaseException:
        for job in jobs:
            job.handle.cancel()
        raise
    if len(jobs) == 1:
        fmt = fmts[0]
        events = sse(jobs[0], firsts[0], fmt.chunk, fmt.final, fmt.DONE, on_error=on_error)
    else:
        events = _interleaved(jobs, firsts, fmts, tail, on_error)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def _interleaved(jobs: list[Job], firsts: list[Any], fmts: list[Any], tail: Tail | None,
                       on_error: Callable[[ApiError], str] | None) -> AsyncIterator[str]:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    ended: dict[int, Completion] = {}

    def final_of(fmt: Any) -> Callable[[Completion], list[str]]:
        def final(completion: Completion) -> list[str]:
            ended[fmt.index] = completion
            return list(fmt.final(completion))
        return final

    async def pump(job: Job, first: Any, fmt: Any) -> None:
        try:
            async for event in sse(job, first, fmt.chunk, final_of(fmt), "",
                                   on_error=on_error):
                await queue.put(event)
        finally:
            await queue.put(None)

    tasks = [asyncio.ensure_future(pump(j, f, fmt)) for j, f, fmt in
             zip(jobs, firsts, fmts, strict=True)]
    try:
        left = len(tasks)
        while left:
            event = await queue.get()
            if event is None:
                left -= 1
            elif event:
                yield event
        if tail is not None and len(ended) == len(jobs):
            for event in tail([ended[i] for i in sorted(ended)]):
                yield event
        if fmts[0].DONE:
            yield fmts[0].DONE
    finally:
        for job in jobs:
            job.handle.cancel()  # no-op after a normal end; the client left otherwise
        for task in tasks:
            task.cancel()
