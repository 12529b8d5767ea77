"""One request's sampler chain, built on the engine thread from its own settings only.

llama-cpp-python's ``Llama._init_sampler`` has no place for a logit bias and would put one
after the penalties; OpenAI's ``logit_bias`` must shape the raw logits first, so the chain is
assembled here in llama-server's order: bias, penalties, grammar, then greedy or
top-k/typical/top-p/min-p/temperature/dist. A grammar is parsed on its own first: a chain given
the NULL of a failed parse crashes the process at the first token (a client's GBNF is
untrusted).
"""

from __future__ import annotations

from typing import Any

import llama_cpp
from llama_cpp import _internals

from fireside.core.errors import GrammarError
from fireside.core.inference.embed import check_token_ids
from fireside.core.inference.types import SamplingParams


def check_grammar(vocab: Any, grammar: Any) -> None:
    probe = llama_cpp.llama_sampler_init_grammar(
        vocab, grammar._grammar.encode(), grammar._root.encode())
    if not probe:
        raise GrammarError("llama.cpp could not parse the grammar (see the server log for "
                           "where)")
    llama_cpp.llama_sampler_free(probe)


def build(llm: Any, vocab: Any, p: SamplingParams, grammar: Any) -> _internals.LlamaSampler:
    """The chain for one request; its seed is the request's (or a fresh random one)."""
    seed = (llama_cpp.LLAMA_DEFAULT_SEED if p.seed is None or p.seed < 0
            else p.seed & 0xFFFFFFFF)
    sampler = _internals.LlamaSampler()
    if p.logit_bias:
        sampler.add_logit_bias(int(llm.n_vocab()), _bias_by_id(llm, p.logit_bias))
    sampler.add_penalties(n_vocab=int(llm.n_vocab()), penalty_last_n=llm.last_n_tokens_size,
                          penalty_repeat=p.repeat_penalty, penalty_freq=p.frequency_penalty,
                          penalty_present=p.presence_penalty)
    if grammar is not None:
        check_grammar(vocab, grammar)
        sampler.add_grammar(llm._model, grammar)
    if p.temperature <= 0.0:
        sampler.add_greedy()
        return sampler
    sampler.add_top_k(p.top_k)
    sampler.add_typical(1.0, 1)
    sampler.add_top_p(p.top_p, 1)
    sampler.add_min_p(p.min_p, 1)
    sampler.add_temp(p.temperature)
    sampler.add_dist(seed)
    return sampler


def plain_greedy(p: SamplingParams, grammar: Any) -> bool:
    """The chain would only pick the likeliest token: no bias, penalty or grammar shapes the
    logits first (neutral penalties are a no-op in llama.cpp). The batch then takes the argmax
    itself (~6 us) instead of the chain, which builds a candidate per vocabulary entry first
    (~170 us for a 49k vocabulary, on every token of every greedy request)."""
    return (p.temperature <= 0.0 and grammar is None and not p.logit_bias
            and p.repeat_penalty == 1.0 and p.frequency_penalty == 0.0
            and p.presence_penalty == 0.0)


def _bias_by_id(llm: Any, bias: dict[int | str, float]) -> dict[int, float]:
    """Token text (llama-server's form) biases every token it is made of."""
    out: dict[int, float] = {}
    for key, value in bias.items():
        ids = ([key] if isinstance(key, int) else
               list(llm.tokenize(key.encode("utf-8"), add_bos=False, special=False)))
        for token in check_token_ids(llm, ids, "logit_bias"):
            out[token] = value
    return out
