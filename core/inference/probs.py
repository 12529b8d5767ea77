"""Token probabilities for the requests that ask (OpenAI's ``logprobs``, llama-server's
``n_probs``), read on the engine thread right after a token is sampled.

Two views, as llama-server gives them. By default the model's own distribution: a log-softmax
over the whole row of raw logits (what OpenAI's ``logprobs`` report; the sampler never writes
to that row, so reading it after sampling is safe). With ``post_sampling`` the distribution the
sampler actually drew from: the chain is applied to a candidate array by hand (what
``llama_sampler_sample`` does inside) and the survivors of top-k/top-p/min-p are renormalised
at the chain's temperature; tokens it cut have probability 0 and are never listed.
Both cost one pass of numpy over the vocabulary, and only requests that ask pay it.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np

MAX_TOP = 20  # OpenAI's limit for top_logprobs; n_probs is held to the same


@dataclass
class Alternative:
    """One token and its probability (as a natural log)."""

    id: int
    text: str
    raw: bytes
    logprob: float


@dataclass
class TokenProb:
    """The sampled token and the most likely tokens at its place (most likely first)."""

    chosen: Alternative
    top: list[Alternative] = field(default_factory=list)


@dataclass
class ProbRequest:
    """What a request asked for: ``top`` alternatives (0: the chosen token's only)."""

    top: int = 0
    post_sampling: bool = False


def _piece(vocab: Any, token: int, buf: ctypes.Array[ctypes.c_char]) -> bytes:
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, True)
    return buf.raw[:n] if n > 0 else b""


def _alt(vocab: Any, token: int, logprob: float, buf: ctypes.Array[ctypes.c_char]
         ) -> Alternative:
    raw = _piece(vocab, token, buf)
    return Alternative(int(token), raw.decode("utf-8", errors="replace"), raw, float(logprob))


def logits_row(ctx: Any, idx: int, n_vocab: int) -> np.ndarray:
    """Row ``idx`` of the last decode's logits, viewed in place (no copy)."""
    ptr = llama_cpp.llama_get_logits_ith(ctx, idx)
    return np.ctypeslib.as_array(ptr, shape=(n_vocab,))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return shifted - float(np.log(np.sum(np.exp(shifted))))


def _describe(vocab: Any, ids: np.ndarray, logprobs: np.ndarray, chosen: int, top: int,
              buf: ctypes.Array[ctypes.c_char]) -> TokenProb:
    """``ids``/``logprobs`` are the candidates; alternatives are the ``top`` most likely."""
    where = np.nonzero(ids == chosen)[0]
    mine = float(logprobs[where[0]]) if len(where) else float("-inf")
    result = TokenProb(_alt(vocab, chosen, mine, buf))
    k = min(top, len(ids))
    if k > 0:
        best = np.argpartition(-logprobs, k - 1)[:k]
        best = best[np.argsort(-logprobs[best], kind="stable")]
        result.top = [_alt(vocab, int(ids[i]), float(logprobs[i]), buf) for i in best
                      if np.isfinite(logprobs[i])]
    return result


def model_probs(ctx: Any, vocab: Any, idx: int, chosen: int, top: int,
                buf: ctypes.Array[ctypes.c_char]) -> TokenProb:
    """The model's distribution at row ``idx`` of the last decode."""
    n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
    logprobs = _log_softmax(logits_row(ctx, idx, n_vocab))
    return _describe(vocab, np.arange(n_vocab, dtype=np.int64), logprobs, chosen, top, buf)


def sample_with_probs(chain: Any, ctx: Any, vocab: Any, idx: int, top: int,
                      buf: ctypes.Array[ctypes.c_char]) -> tuple[int, TokenProb]:
    """Sample row ``idx`` through ``chain`` by hand, keeping the candidates it left."""
    n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
    data = (llama_cpp.llama_token_data * n_vocab)()
    view = np.ctypeslib.as_array(data).view(
        np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)]))
    view["id"] = np.arange(n_vocab, dtype=np.int32)
    view["logit"] = logits_row(ctx, idx, n_vocab)
    view["p"] = 0.0
    cur = llama_cpp.llama_token_data_array(data=data, size=n_vocab, selected=-1,
                                           sorted=False)
    llama_cpp.llama_sampler_apply(chain, ctypes.byref(cur))
    left = np.ctypeslib.as_array(cur.data, shape=(int(cur.size),)).view(view.dtype)
    token = int(left["id"][cur.selected])
    llama_cpp.llama_sampler_accept(chain, token)
    finite = np.isfinite(left["logit"])
    ids = left["id"][finite].astype(np.int64)
    logprobs = _log_softmax(left["logit"][finite]) if len(ids) else np.zeros(0)
    return token, _describe(vocab, ids, logprobs, token, top, buf)
