"""The token loop: prefill, sample, decode — straight on llama.cpp's C API.

``Llama.create_completion`` spends a few percent per token in Python bookkeeping (numpy score
copies, per-token detokenising of the whole tail, stop-string scans). This loop keeps only what
the engine needs: prefix reuse of the KV cache, llama.cpp's own sampler chain (built by
llama-cpp-python, so grammars and penalties behave identically), incremental UTF-8 decoding,
stop strings, and a cancel check between tokens. bench/decode.py measures the difference.
"""

from __future__ import annotations

import codecs
import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp

from fireside.core.errors import FiresideError
from fireside.core.inference.types import CancelToken, SamplingParams


@dataclass
class KVState:
    """Which tokens the context's KV cache holds, so a shared prefix is not computed twice."""

    tokens: list[int] = field(default_factory=list)


@dataclass
class LoopResult:
    text: str
    finish_reason: str
    completion_tokens: int
    first_token_at: float | None


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _decode(ctx: Any, tokens: list[int]) -> None:
    arr = (llama_cpp.llama_token * len(tokens))(*tokens)
    rc = llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(arr, len(tokens)))
    if rc != 0:
        raise FiresideError(f"llama.cpp failed to decode (status {rc})")


def prefill(llm: Any, kv: KVState, tokens: list[int], n_batch: int) -> int:
    """Bring the KV cache to ``tokens``; returns how many tokens were actually computed."""
    ctx = llm._ctx.ctx
    keep = min(_common_prefix(kv.tokens, tokens), len(tokens) - 1)  # >= 1 token for logits
    mem = llama_cpp.llama_get_memory(ctx)
    if not llama_cpp.llama_memory_seq_rm(mem, 0, keep, -1):
        llama_cpp.llama_memory_clear(mem, True)
        keep = 0
    kv.tokens = tokens[:keep]
    for start in range(keep, len(tokens), n_batch):
        chunk = tokens[start:start + n_batch]
        _decode(ctx, chunk)
        kv.tokens.extend(chunk)
    return len(tokens) - keep


def _held_back(text: str, stops: list[str]) -> int:
    """Length of the tail of ``text`` that could still grow into a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def run(llm: Any, kv: KVState, tokens: list[int], params: SamplingParams, max_tokens: int,
        stop: list[str], grammar: Any, on_token: Callable[[str], None] | None,
        cancel: CancelToken | None) -> LoopResult:
    """Generate after ``tokens``; the caller holds the engine lock."""
    ctx = llm._ctx.ctx
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    if params.seed is not None:
        llm.set_seed(params.seed)
    sampler = llm._init_sampler(
        top_k=params.top_k, top_p=params.top_p, min_p=params.min_p, temp=params.temperature,
        repeat_penalty=params.repeat_penalty, frequency_penalty=params.frequency_penalty,
        presence_penalty=params.presence_penalty, grammar=grammar)
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buf = ctypes.create_string_buffer(256)
    one = (llama_cpp.llama_token * 1)()
    batch = llama_cpp.llama_batch_get_one(one, 1)
    emitted: list[str] = []
    pending = ""
    finish = "length"
    count = 0
    first: float | None = None
    try:
        while count < max_tokens:
            token = sampler.sample(llm._ctx, -1)
            if first is None:
                first = time.perf_counter()
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            count += 1
            n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
            pending += utf8.decode(buf.raw[:n] if n > 0 else b"")
            hit = min((i for s in stop if (i := pending.find(s)) >= 0), default=-1)
            if hit >= 0:
                pending = pending[:hit]
                finish = "stop"
            hold = 0 if hit >= 0 else _held_back(pending, stop)
            ready, pending = pending[:len(pending) - hold], pending[len(pending) - hold:]
            if ready:
                emitted.append(ready)
                if on_token is not None:
                    on_token(ready)
            if hit >= 0:
                break
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            if count >= max_tokens:
                break
            one[0] = token
            rc = llama_cpp.llama_decode(ctx, batch)
            if rc != 0:
                raise FiresideError(f"llama.cpp failed to decode (status {rc})")
            kv.tokens.append(token)
    finally:
        sampler.close()
    if finish == "length" and pending:
        emitted.append(pending)
        if on_token is not None:
            on_token(pending)
    return LoopResult("".join(emitted), finish, count, first)
