"""Token probabilities from the engine: the model's distribution and the sampler's."""

from __future__ import annotations

import math

import pytest

from fireside.core.inference.engine import Engine
from fireside.core.inference.types import SamplingParams

PROMPT = "The capital of France is"


def test_model_probs_greedy_picks_the_most_likely(engine: Engine) -> None:
    params = SamplingParams(temperature=0.0, repeat_penalty=1.0, max_tokens=6, logprobs=4)
    result = engine.complete(PROMPT, params)
    assert len(result.probs) == result.stats.completion_tokens == len(result.tokens) == 6
    assert "".join(p.chosen.text for p in result.probs) == result.text
    for prob in result.probs:
        assert len(prob.top) == 4
        assert prob.top[0].id == prob.chosen.id  # greedy: the top token is the one written
        assert prob.chosen.logprob == prob.top[0].logprob <= 0.0
        logprobs = [a.logprob for a in prob.top]
        assert logprobs == sorted(logprobs, reverse=True)
        assert sum(math.exp(lp) for lp in logprobs) <= 1.0 + 1e-6
        assert prob.chosen.raw.decode("utf-8", "replace") == prob.chosen.text


def test_post_sampling_probs_are_the_samplers(engine: Engine) -> None:
    """top_k 3 at temperature 1: at most three candidates, their probabilities sum to one, and
    the token written is one of them."""
    params = SamplingParams(temperature=1.0, top_k=3, top_p=1.0, min_p=0.0, max_tokens=8,
                            logprobs=10, post_sampling_probs=True, seed=7)
    result = engine.complete(PROMPT, params)
    assert len(result.probs) == result.stats.completion_tokens
    for prob in result.probs:
        assert 1 <= len(prob.top) <= 3
        assert sum(math.exp(a.logprob) for a in prob.top) == pytest.approx(1.0, abs=1e-4)
        assert prob.chosen.id in {a.id for a in prob.top}
    again = engine.complete(PROMPT, params)  # the same seed draws the same tokens
    assert again.tokens == result.tokens


def test_no_probs_unless_asked_and_the_end_token_has_none(engine: Engine) -> None:
    plain = engine.complete(PROMPT, SamplingParams(temperature=0.0, max_tokens=4))
    assert plain.probs == [] and len(plain.tokens) == 4
    chat = engine.chat([{"role": "user", "content": "Say OK."}],
                       SamplingParams(temperature=0.0, max_tokens=200, logprobs=1))
    assert chat.finish_reason == "stop"  # ended on the end-of-turn token...
    assert len(chat.probs) == chat.stats.completion_tokens  # ...which has no entry
