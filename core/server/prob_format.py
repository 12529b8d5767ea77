"""Token probabilities in each protocol's shape: OpenAI chat, legacy completions, and
llama-server's native ``completion_probabilities`` (log-probabilities, or plain ``prob`` when
``post_sampling_probs`` was asked)."""

from __future__ import annotations

import math
from typing import Any

from fireside.core.inference.probs import Alternative, TokenProb


def _chat_alt(alt: Alternative) -> dict[str, Any]:
    return {"id": alt.id, "token": alt.text, "logprob": alt.logprob, "bytes": list(alt.raw)}


def chat(probs: list[TokenProb]) -> dict[str, Any]:
    """``choices[].logprobs`` of a chat completion (or of one chunk)."""
    return {"content": [{**_chat_alt(p.chosen), "top_logprobs": [_chat_alt(a) for a in p.top]}
                        for p in probs],
            "refusal": None}


def text(probs: list[TokenProb], offset: int = 0) -> dict[str, Any]:
    """``choices[].logprobs`` of a legacy completion; ``offset``: where this text starts."""
    offsets = []
    for p in probs:
        offsets.append(offset)
        offset += len(p.chosen.text)
    return {"tokens": [p.chosen.text for p in probs],
            "token_logprobs": [p.chosen.logprob for p in probs],
            "top_logprobs": [{a.text: a.logprob for a in p.top} for p in probs],
            "text_offset": offsets}


def _native_alt(alt: Alternative, post_sampling: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": alt.id, "token": alt.text, "bytes": list(alt.raw)}
    if post_sampling:
        out["prob"] = math.exp(alt.logprob)
    else:
        out["logprob"] = alt.logprob
    return out


def native(probs: list[TokenProb], post_sampling: bool) -> list[dict[str, Any]]:
    """llama-server's ``completion_probabilities``."""
    key = "top_probs" if post_sampling else "top_logprobs"
    return [{**_native_alt(p.chosen, post_sampling),
             key: [_native_alt(a, post_sampling) for a in p.top]} for p in probs]
