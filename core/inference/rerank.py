"""Relevance scores from a reranking model, as llama-server's ``/rerank`` computes them.

A reranker (bge-reranker, jina-reranker, Qwen3-Reranker) is converted with ``pooling_type``
RANK: its context pools each sequence through the classification head, and the first value of
the pooled vector is the document's score. Each (query, document) pair is one input, built from
the model's ``rerank`` template when the file has one, else as llama-server builds it:
``BOS query EOS SEP document EOS`` with each special token only where the vocabulary adds it.
A model without that head cannot rerank, and says so instead of returning noise.
"""

from __future__ import annotations

from typing import Any

import llama_cpp
import numpy as np

from fireside.core.errors import ContextOverflowError, RequestError


class CannotRerankError(RequestError):
    """The loaded model has no ranking head (llama-server answers 501 for the same)."""


def can_rerank(llm: Any) -> bool:
    return bool(llama_cpp.llama_pooling_type(llm._ctx.ctx) == llama_cpp.LLAMA_POOLING_TYPE_RANK)


def pair_tokens(llm: Any, query: str, document: str) -> list[int]:
    """One (query, document) input as the model was trained to read it."""
    template = llama_cpp.llama_model_chat_template(llm.model, b"rerank")
    if template:
        prompt = template.decode("utf-8").replace("{query}", query).replace("{document}", document)
        return list(llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eos = llama_cpp.llama_vocab_eos(vocab)
    if eos == llama_cpp.LLAMA_TOKEN_NULL:
        eos = llama_cpp.llama_vocab_sep(vocab)
    add_eos = bool(llama_cpp.llama_vocab_get_add_eos(vocab))
    out: list[int] = []
    if llama_cpp.llama_vocab_get_add_bos(vocab):
        out.append(llama_cpp.llama_vocab_bos(vocab))
    out += llm.tokenize(query.encode("utf-8"), add_bos=False, special=False)
    if add_eos:
        out.append(eos)
    if llama_cpp.llama_vocab_get_add_sep(vocab):
        out.append(llama_cpp.llama_vocab_sep(vocab))
    out += llm.tokenize(document.encode("utf-8"), add_bos=False, special=False)
    if add_eos:
        out.append(eos)
    return out


def rerank_scores(llm: Any, query: str, documents: list[str], n_ctx: int
                  ) -> tuple[list[float], int]:
    """Each document's score (higher is more relevant) and the tokens read, in input order;
    the context must be in embeddings mode."""
    if not can_rerank(llm):
        raise CannotRerankError("the loaded model cannot rerank: it has no ranking head "
                                "(load a reranker such as bge-reranker-v2-m3)", "model")
    ctx = llm._ctx.ctx
    n_ubatch = int(llama_cpp.llama_n_ubatch(ctx))
    n_out = max(1, int(llama_cpp.llama_model_n_cls_out(llm.model)))
    scores: list[float] = []
    read = 0
    for i, document in enumerate(documents):
        tokens = pair_tokens(llm, query, document)
        if len(tokens) > min(n_ubatch, n_ctx):
            raise ContextOverflowError(f"query and document {i} are {len(tokens)} tokens; the "
                                       f"reranker reads at most {min(n_ubatch, n_ctx)} at once",
                                       len(tokens), min(n_ubatch, n_ctx))
        llm._ctx.kv_cache_clear()
        llm._batch.reset()
        llm._batch.set_batch(tokens, n_past=0, logits_all=True)
        llm._ctx.decode(llm._batch)
        row = np.ctypeslib.as_array(llama_cpp.llama_get_embeddings_seq(ctx, 0), shape=(n_out,))
        scores.append(float(row[0]))
        read += len(tokens)
    return scores, read
