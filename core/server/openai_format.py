"""Fireside results in OpenAI's response and chunk shapes."""

from __future__ import annotations

import base64
import json
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fireside.core.inference import reasoning
from fireside.core.inference.types import Completion, Stats
from fireside.core.server import prob_format
from fireside.core.server.params import flag
from fireside.core.server.structured import ToolPlan, parse_tool_calls

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle, Update
    from fireside.core.inference.probs import TokenProb

FINGERPRINT = "fireside"


def note_usage(info: dict[str, Any], completion: Completion) -> None:
    """What the request log shows of an answer: its tokens and its wait in the queue."""
    info["tokens"] = completion.stats.prompt_tokens + completion.stats.completion_tokens
    info["queue_s"] = completion.stats.queue_s

def llama_timings(s: Stats) -> dict[str, Any]:
    """llama-server's ``timings`` of one answer (its clients and web UI show them)."""
    decode_s = max(s.total_s - s.ttft_s, 1e-9)
    prompt_ms = s.ttft_s * 1000
    return {"cache_n": s.prompt_tokens - s.prefill_tokens, "prompt_n": s.prefill_tokens,
            "prompt_ms": prompt_ms,
            "prompt_per_token_ms": prompt_ms / s.prefill_tokens if s.prefill_tokens else 0.0,
            "prompt_per_second": s.prefill_tokens_per_s,
            "predicted_n": s.completion_tokens, "predicted_ms": decode_s * 1000,
            "predicted_per_token_ms": decode_s * 1000 / max(s.completion_tokens, 1),
            "predicted_per_second": s.decode_tokens_per_s}


def _usage(completion: Completion) -> dict[str, int]:
    stats = completion.stats
    return {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens}


def _finish(completion: Completion) -> str:
    # "cancelled" only happens when the client is gone (or the server stopping): say "stop"
    return "length" if completion.finish_reason == "length" else "stop"


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


@dataclass
class Extras:
    """llama-server's request flags that add to an answer: ``verbose`` (``__verbose``: the
    prompt as the model read it), ``return_progress`` (``prompt_progress`` events while the
    prompt is read) and ``timings_per_token`` (``timings`` in every chunk)."""

    verbose: bool = False
    progress: bool = False
    timings: bool = False

    @classmethod
    def of(cls, body: dict[str, Any]) -> Extras:
        return cls(flag(body, "verbose"), flag(body, "return_progress"),
                   flag(body, "timings_per_token"))


class ChatFormat:
    """``chat.completion`` bodies and ``chat.completion.chunk`` events for one request.

    A reasoning model's ``<think>`` block goes to ``reasoning_content`` (in the message and in
    stream deltas), as llama-server's default ``reasoning_format`` and LM Studio return it;
    ``reasoning_format: "none"`` in the request keeps the raw text in ``content``.
    """

    DONE = "data: [DONE]\n\n"

    def __init__(self, model: str, plan: ToolPlan | None, include_usage: bool,
                 info: dict[str, Any], *, split_reasoning: bool = True,
                 logprobs: bool = False, extras: Extras | None = None) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.plan = plan
        self.include_usage = include_usage
        self.info = info
        self.split_reasoning = split_reasoning
        self.logprobs = logprobs
        self.extras = extras or Extras()
        self.progress = self.extras.progress  # prompt progress is news (jobs.Job)
        self.index = 0  # which of n choices (see choices.py)
        self._handle: Handle | None = None
        self._probs: list[TokenProb] = []  # of text not sent yet (held by the reasoning split)
        self._started = False
        self._opened: Callable[[], bool] = lambda: False
        self._reasoning: reasoning.ReasoningStream | None = None

    def attach(self, handle: Handle) -> None:
        """The request's handle: whether its template opened a think block is known from it."""
        self._opened = lambda: handle.opens_thinking
        self._handle = handle

    def _message(self, completion: Completion) -> tuple[dict[str, Any], str]:
        note_usage(self.info, completion)
        finish = _finish(completion)
        message: dict[str, Any] = {"role": "assistant", "content": completion.text}
        if self.split_reasoning:
            parts = reasoning.split(completion.text, opened=completion.opens_thinking)
            if parts.had_reasoning:
                message = {**message, "content": parts.content,
                           "reasoning_content": parts.reasoning}
        if self.plan is not None:
            content, calls = parse_tool_calls(message["content"], self.plan)
            if calls:
                return {**message, "content": content, "tool_calls": calls}, "tool_calls"
        return message, finish

    def body(self, completion: Completion) -> dict[str, Any]:
        message, finish = self._message(completion)
        out = {"id": self.id, "object": "chat.completion", "created": self.created,
               "model": self.model, "system_fingerprint": FINGERPRINT,
               "choices": [{"index": self.index, "message": message,
                            "logprobs": self._logprobs(completion.probs),
                            "finish_reason": finish}],
               "usage": _usage(completion), "timings": llama_timings(completion.stats)}
        if self.extras.verbose:
            out["__verbose"] = {"prompt": completion.prompt, "content": completion.text,
                                "stop_type": completion.finish_reason}
        return out

    def usage_event(self, usage: dict[str, int], completion: Completion) -> str:
        """The stream's last chunk: no choices, the usage (and llama-server's timings)."""
        return _event({"id": self.id, "object": "chat.completion.chunk",
                       "created": self.created, "model": self.model,
                       "system_fingerprint": FINGERPRINT, "choices": [], "usage": usage,
                       "timings": llama_timings(completion.stats)})

    def _logprobs(self, probs: list[TokenProb]) -> dict[str, Any] | None:
        return prob_format.chat(probs) if self.logprobs else None

    def _chunk(self, delta: dict[str, Any], finish: str | None,
               probs: list[TokenProb] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": FINGERPRINT,
            "choices": [{"index": self.index, "delta": delta,
                         "logprobs": None if probs is None else self._logprobs(probs),
                         "finish_reason": finish}]}
        if self.include_usage:
            data["usage"] = None
        return data

    def _delta(self, thought: str, text: str) -> str:
        delta: dict[str, Any] = {}
        if thought:
            delta["reasoning_content"] = thought
        if text:
            delta["content"] = text
        if not delta:
            return ""
        probs, self._probs = self._probs, []
        data = self._chunk(delta, None, probs)
        if self.extras.timings and self._handle is not None:
            data["timings"] = llama_timings(self._handle.stats_so_far())
        return self._role() + _event(data)

    def _role(self) -> str:
        """The stream's first chunk names the role alone (content null), as llama-server
        and OpenAI begin a stream."""
        if self._started:
            return ""
        self._started = True
        return _event(self._chunk({"role": "assistant", "content": None}, None))

    def chunk(self, news: Update) -> str:
        self._probs += news.probs
        text = news.text
        lead = ""
        if self.progress and news.progress is not None:
            lead = self._role() + self._progress_event(*news.progress)
        if not self.split_reasoning:
            return lead + self._delta("", text)
        if self._reasoning is None:  # first text: the request has started, the prompt is known
            self._reasoning = reasoning.ReasoningStream(opened=self._opened())
        return lead + self._delta(*self._reasoning.feed(text))

    def _progress_event(self, done: int, total: int) -> str:
        cached = self._handle.cached_tokens if self._handle is not None else 0
        return _event({"id": self.id, "object": "chat.completion.chunk",
                       "created": self.created, "model": self.model, "choices": [],
                       "prompt_progress": {"total": total, "cache": cached,
                                           "processed": done}})

    def final(self, completion: Completion) -> list[str]:
        events = []
        if self._reasoning is not None:
            held = self._delta(*self._reasoning.flush())
            if held:
                events.append(held)
        message, finish = self._message(completion)
        if not self._started:  # nothing streamed yet (tools, or an empty answer)
            events.append(self._role())
            delta = {k: v for k, v in message.items() if v is not None and k != "role"}
            if "tool_calls" in delta:
                delta["tool_calls"] = [{"index": i, **c} for i, c in
                                       enumerate(delta["tool_calls"])]
            events.append(_event(self._chunk(delta, None, completion.probs)))
        events.append(_event(self._chunk({}, finish)))
        if self.include_usage:
            events.append(self.usage_event(_usage(completion), completion))
        return events


class TextFormat:
    """``text_completion`` bodies and chunks for ``/v1/completions``."""

    DONE = "data: [DONE]\n\n"

    def __init__(self, model: str, include_usage: bool, info: dict[str, Any], *,
                 logprobs: bool = False) -> None:
        self.id = "cmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.info = info
        self.logprobs = logprobs
        self.index = 0  # which of n choices (see choices.py)
        self._offset = 0  # characters streamed so far (text_offset of the next token)

    def attach(self, handle: Handle) -> None:
        """Nothing to learn from the handle: plain completions have no reasoning split."""

    def _wrap(self, text: str, finish: str | None,
              probs: list[TokenProb] | None = None) -> dict[str, Any]:
        logprobs = None  # on every chunk but the last, and on the whole body, when asked
        if self.logprobs and (finish is None or probs is not None):
            logprobs = prob_format.text(probs or [], self._offset)
        return {"id": self.id, "object": "text_completion", "created": self.created,
                "model": self.model, "system_fingerprint": FINGERPRINT,
                "choices": [{"index": self.index, "text": text, "logprobs": logprobs,
                             "finish_reason": finish}]}

    def body(self, completion: Completion) -> dict[str, Any]:
        note_usage(self.info, completion)
        return {**self._wrap(completion.text, _finish(completion), completion.probs),
                "usage": _usage(completion)}

    def chunk(self, news: Update) -> str:
        event = _event(self._wrap(news.text, None, news.probs))
        self._offset += len(news.text)
        return event

    def final(self, completion: Completion) -> list[str]:
        note_usage(self.info, completion)
        events = [_event(self._wrap("", _finish(completion)))]
        if self.include_usage:
            events.append(self.usage_event(_usage(completion), completion))
        return events

    def usage_event(self, usage: dict[str, int], _completion: Completion) -> str:
        return _event({"id": self.id, "object": "text_completion", "created": self.created,
                       "model": self.model, "choices": [], "usage": usage})


def embeddings_body(model: str, vectors: list[list[float]], tokens: int,
                    encoding: str) -> dict[str, Any]:
    """The official client asks for base64 (packed little-endian float32) by default."""
    data = []
    for i, vector in enumerate(vectors):
        value: Any = vector
        if encoding == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
