"""Fireside results in OpenAI's response and chunk shapes."""

from __future__ import annotations

import base64
import json
import secrets
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fireside.core.inference import reasoning
from fireside.core.inference.types import Completion
from fireside.core.server.structured import ToolPlan, parse_tool_calls

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle

FINGERPRINT = "fireside"


def note_usage(info: dict[str, Any], completion: Completion) -> None:
    """What the request log shows of an answer: its tokens and its wait in the queue."""
    info["tokens"] = completion.stats.prompt_tokens + completion.stats.completion_tokens
    info["queue_s"] = completion.stats.queue_s

def _usage(completion: Completion) -> dict[str, int]:
    stats = completion.stats
    return {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens}


def _finish(completion: Completion) -> str:
    # "cancelled" only happens when the client is gone (or the server stopping): say "stop"
    return "length" if completion.finish_reason == "length" else "stop"


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


class ChatFormat:
    """``chat.completion`` bodies and ``chat.completion.chunk`` events for one request.

    A reasoning model's ``<think>`` block goes to ``reasoning_content`` (in the message and in
    stream deltas), as llama-server's default ``reasoning_format`` and LM Studio return it;
    ``reasoning_format: "none"`` in the request keeps the raw text in ``content``.
    """

    DONE = "data: [DONE]\n\n"

    def __init__(self, model: str, plan: ToolPlan | None, include_usage: bool,
                 info: dict[str, Any], *, split_reasoning: bool = True) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.plan = plan
        self.include_usage = include_usage
        self.info = info
        self.split_reasoning = split_reasoning
        self._started = False
        self._opened: Callable[[], bool] = lambda: False
        self._reasoning: reasoning.ReasoningStream | None = None

    def attach(self, handle: Handle) -> None:
        """The request's handle: whether its template opened a think block is known from it."""
        self._opened = lambda: handle.opens_thinking

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
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "system_fingerprint": FINGERPRINT,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": finish}],
                "usage": _usage(completion)}

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
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
        if not self._started:
            self._started = True
            delta = {"role": "assistant", **delta}
        return _event(self._chunk(delta, None))

    def chunk(self, text: str) -> str:
        if not self.split_reasoning:
            return self._delta("", text)
        if self._reasoning is None:  # first text: the request has started, the prompt is known
            self._reasoning = reasoning.ReasoningStream(opened=self._opened())
        return self._delta(*self._reasoning.feed(text))

    def final(self, completion: Completion) -> list[str]:
        events = []
        if self._reasoning is not None:
            held = self._delta(*self._reasoning.flush())
            if held:
                events.append(held)
        message, finish = self._message(completion)
        if not self._started:  # nothing streamed yet (tools, or an empty answer)
            self._started = True
            delta = {k: v for k, v in message.items() if v is not None}
            if "tool_calls" in delta:
                delta["tool_calls"] = [{"index": i, **c} for i, c in
                                       enumerate(delta["tool_calls"])]
            events.append(_event(self._chunk(delta, None)))
        events.append(_event(self._chunk({}, finish)))
        if self.include_usage:
            events.append(_event({"id": self.id, "object": "chat.completion.chunk",
                                  "created": self.created, "model": self.model,
                                  "system_fingerprint": FINGERPRINT, "choices": [],
                                  "usage": _usage(completion)}))
        return events


class TextFormat:
    """``text_completion`` bodies and chunks for ``/v1/completions``."""

    DONE = "data: [DONE]\n\n"

    def __init__(self, model: str, include_usage: bool, info: dict[str, Any]) -> None:
        self.id = "cmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.info = info

    def attach(self, handle: Handle) -> None:
        """Nothing to learn from the handle: plain completions have no reasoning split."""

    def _wrap(self, text: str, finish: str | None) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created,
                "model": self.model, "system_fingerprint": FINGERPRINT,
                "choices": [{"index": 0, "text": text, "logprobs": None,
                             "finish_reason": finish}]}

    def body(self, completion: Completion) -> dict[str, Any]:
        note_usage(self.info, completion)
        return {**self._wrap(completion.text, _finish(completion)), "usage": _usage(completion)}

    def chunk(self, text: str) -> str:
        return _event(self._wrap(text, None))

    def final(self, completion: Completion) -> list[str]:
        note_usage(self.info, completion)
        events = [_event(self._wrap("", _finish(completion)))]
        if self.include_usage:
            events.append(_event({"id": self.id, "object": "text_completion",
                                  "created": self.created, "model": self.model,
                                  "choices": [], "usage": _usage(completion)}))
        return events


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
