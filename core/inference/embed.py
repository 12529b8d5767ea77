"""Embeddings of inputs as long as the context, read on the engine thread.

``Llama.embed`` refuses an input longer than one batch (512 tokens: "Requested tokens (2049)
exceed batch size of 512") although the context holds far more. A model without a pooling head
(a chat model asked for embeddings) is decoded here in batch-sized chunks that continue one
sequence in the KV cache, and its per-token vectors are mean-pooled; a model with a pooling head
needs the whole input in one micro-batch, so a longer input is refused with the limit named.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import llama_cpp
import numpy as np

from fireside.core.errors import ContextOverflowError, RequestError


def check_token_ids(llm: Any, ids: list[int], param: str) -> list[int]:
    """Token ids from a client, each inside the vocabulary (llama.cpp aborts on one outside)."""
    n_vocab = int(llm.n_vocab())
    for token in ids:
        if not 0 <= token < n_vocab:
            raise RequestError(f"token id {token} is not in the model's vocabulary "
                               f"(0 to {n_vocab - 1})", param)
    return ids


def embed_tokens(llm: Any, tokens: list[int], n_ctx: int) -> list[float]:
    """One input's mean-pooled, L2-normalised embedding (the context in embeddings mode)."""
    if len(tokens) >= n_ctx:
        raise ContextOverflowError(f"input is {len(tokens)} tokens; the context holds {n_ctx}",
                                   len(tokens), n_ctx)
    ctx = llm._ctx.ctx
    n_embd = int(llm.n_embd())
    pooled = llama_cpp.llama_pooling_type(ctx) != llama_cpp.LLAMA_POOLING_TYPE_NONE
    n_ubatch = int(llama_cpp.llama_n_ubatch(ctx))
    if pooled and len(tokens) > n_ubatch:
        raise RequestError(f"input is {len(tokens)} tokens; this embedding model reads at most "
                           f"{n_ubatch} at once", "input")
    llm._ctx.kv_cache_clear()
    total = np.zeros(n_embd, dtype=np.float64)
    step = n_ubatch if pooled else int(llm.n_batch)
    for begin in range(0, len(tokens), step):
        chunk = tokens[begin:begin + step]
        llm._batch.reset()
        llm._batch.set_batch(chunk, n_past=begin, logits_all=True)
        llm._ctx.decode(llm._batch)
        if pooled:
            total += np.ctypeslib.as_array(llama_cpp.llama_get_embeddings_seq(ctx, 0),
                                           shape=(n_embd,))
        else:
            rows = np.ctypeslib.as_array(llama_cpp.llama_get_embeddings(ctx),
                                         shape=(len(chunk), n_embd))
            total += rows.sum(axis=0, dtype=np.float64)
    mean = total if pooled else total / len(tokens)
    norm = float(np.linalg.norm(mean)) or 1.0
    return [float(v) for v in mean / norm]


def input_tokens(llm: Any, item: str | list[int] | list[int | str]) -> list[int]:
    """A text, or token ids with text between them (llama-server's prompts), as tokens."""
    if isinstance(item, str):
        return list(llm.tokenize(item.encode("utf-8"), add_bos=True, special=False))
    return [t for piece in item for t in (
        check_token_ids(llm, [piece], "input") if isinstance(piece, int) else
        llm.tokenize(piece.encode("utf-8"), add_bos=False, special=False))]


@contextmanager
def embeddings_mode(llm: Any) -> Iterator[None]:
    """The loaded context reads embeddings for a while, then generates again (its cache reset):
    no second copy of the model is ever loaded for embeddings or reranking."""
    llm.context_params.embeddings = True
    llama_cpp.llama_set_embeddings(llm._ctx.ctx, True)
    try:
        yield
    finally:
        llama_cpp.llama_set_embeddings(llm._ctx.ctx, False)
        llm.context_params.embeddings = False
        llm.reset()
