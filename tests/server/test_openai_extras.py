"""logprobs, n > 1, prompt lists, continue_final_message and llama-server's telemetry flags,
as the official client and llama-server's clients send them (real model, real server)."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import openai
import pytest

from fireside.core.server.runner import ServerRunner

ASK = [{"role": "system", "content": "Book"}, {"role": "user", "content": "What is the best book"}]


def _base(server: ServerRunner) -> str:
    return server.base_url.removesuffix("/v1")


def _events(server: ServerRunner, path: str, body: dict[str, Any]) -> list[Any]:
    with httpx.stream("POST", _base(server) + path, json=body, timeout=120) as resp:
        assert resp.status_code == 200
        lines = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def test_chat_logprobs_whole_and_streamed(client: openai.OpenAI, model_name: str) -> None:
    res = client.chat.completions.create(model=model_name, messages=ASK, max_tokens=6,
                                         temperature=0, logprobs=True, top_logprobs=3)
    choice = res.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    tokens = choice.logprobs.content
    assert len(tokens) == res.usage.completion_tokens  # type: ignore[union-attr]
    assert "".join(t.token for t in tokens) == choice.message.content
    for token in tokens:
        assert token.logprob <= 0 and token.bytes == list(token.token.encode())
        assert len(token.top_logprobs) == 3
        assert token.top_logprobs[0].token == token.token  # greedy, no penalties
    stream = client.chat.completions.create(model=model_name, messages=ASK, max_tokens=6,
                                            temperature=0, logprobs=True, top_logprobs=2,
                                            stream=True)
    text = streamed = ""
    for i, chunk in enumerate(stream):
        delta = chunk.choices[0]
        if i == 0:  # the role alone first, as llama-server and OpenAI begin
            assert delta.delta.role == "assistant" and delta.delta.content is None
        elif delta.finish_reason is None:
            assert delta.logprobs is not None and delta.logprobs.content is not None
            text += delta.delta.content or ""
            streamed += "".join(t.token for t in delta.logprobs.content)
    assert text == streamed == choice.message.content  # same greedy answer
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model_name, messages=ASK, top_logprobs=2)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model_name, messages=ASK, logprobs=True,
                                       top_logprobs=21)


def test_completions_logprobs(client: openai.OpenAI, model_name: str) -> None:
    res = client.completions.create(model=model_name, prompt="The sky is", max_tokens=5,
                                    temperature=0, logprobs=2)
    lp = res.choices[0].logprobs
    assert lp is not None and lp.tokens and lp.token_logprobs and lp.text_offset
    assert "".join(lp.tokens) == res.choices[0].text
    assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(len(lp.tokens))]
    assert all(len(top) <= 2 for top in lp.top_logprobs or [])


def test_n_choices_whole_and_streamed(client: openai.OpenAI, model_name: str,
                                      server: ServerRunner) -> None:
    res = client.chat.completions.create(model=model_name, messages=ASK, max_tokens=5, n=3)
    assert [c.index for c in res.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" and c.message.content for c in res.choices)
    assert res.usage is not None and res.usage.completion_tokens == 15
    seeded = [client.chat.completions.create(model=model_name, messages=ASK, max_tokens=8,
                                             n=2, seed=11, temperature=1.0)
              for _ in range(2)]
    assert [c.message.content for c in seeded[0].choices] == \
        [c.message.content for c in seeded[1].choices]  # a seeded call repeats
    events = _events(server, "/v1/chat/completions", {
        "model": model_name, "messages": ASK, "max_tokens": 4, "n": 2, "stream": True,
        "stream_options": {"include_usage": True}})
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    finished = [c["choices"][0]["index"] for c in chunks
                if c["choices"] and c["choices"][0]["finish_reason"]]
    assert sorted(finished) == [0, 1]
    usage = [c for c in chunks if not c["choices"]]
    assert len(usage) == 1 and usage[0]["usage"]["completion_tokens"] == 8
    assert len({c["id"] for c in chunks}) == 1
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model_name, messages=ASK, n=9)


def test_completions_prompt_list_times_n(client: openai.OpenAI, model_name: str) -> None:
    # greedy: a sampled reply may end at EOS before its 3 tokens (seen in a full run)
    res = client.completions.create(model=model_name, prompt=["Hello", "Goodbye"],
                                    max_tokens=3, n=2, temperature=0)
    assert [c.index for c in res.choices] == [0, 1, 2, 3]
    alone = client.completions.create(model=model_name, prompt="Hello", max_tokens=3)
    assert res.usage is not None and alone.usage is not None
    assert res.usage.completion_tokens == 12
    assert res.usage.prompt_tokens > alone.usage.prompt_tokens  # each prompt counted once


def test_native_probs_tokens_and_prompt_lists(server: ServerRunner) -> None:
    base = _base(server)
    body = httpx.post(base + "/completion", timeout=60, json={
        "prompt": "I believe the meaning of life is", "n_predict": 4, "temperature": 1.0,
        "top_k": 3, "n_probs": 5, "post_sampling_probs": True, "return_tokens": True}).json()
    probs = body["completion_probabilities"]
    assert len(probs) == len(body["tokens"]) == 4
    for tok in probs:
        assert 0 < tok["prob"] <= 1 and len(tok["top_probs"]) <= 3
        assert sum(p["prob"] for p in tok["top_probs"]) == pytest.approx(1.0, abs=1e-4)
    assert isinstance(body["has_new_line"], bool) and "cache_n" in body["timings"]
    events = _events(server, "/completion", {
        "prompt": "I believe the meaning of life is", "n_predict": 4, "temperature": 0,
        "n_probs": 2, "stream": True})
    running = [e for e in events if not e["stop"]]
    assert running and all(len(e["completion_probabilities"]) == 1 and len(e["tokens"]) == 1
                           for e in running)
    assert all(e["completion_probabilities"][0]["logprob"] <= 0 for e in running)
    ids = httpx.post(base + "/tokenize", json={"content": "Hello"}).json()["tokens"]
    many = httpx.post(base + "/completion", timeout=60, json={
        "prompt": [ids, "Hello", {"prompt_string": "Hello"}], "n_predict": 3,
        "temperature": 0, "response_fields": ["content", "generation_settings/n_predict"]})
    answers = many.json()
    assert isinstance(answers, list) and len(answers) == 3
    assert answers[0] == answers[1] == answers[2]  # the same prompt three ways, greedy
    assert answers[0]["generation_settings/n_predict"] == 3 and set(answers[0]) == {
        "content", "generation_settings/n_predict"}
    refused = httpx.post(base + "/completion", json={"prompt": {
        "prompt_string": "Hi <__media__>", "multimodal_data": ["aGk="]}})
    assert refused.status_code == 400 and "multimodal" in refused.json()["error"]["message"]


def test_continue_final_message_and_verbose(server: ServerRunner, model_name: str) -> None:
    url = server.base_url + "/chat/completions"
    history = [{"role": "user", "content": "Name a colour."},
               {"role": "assistant", "content": "My favourite colour is"}]
    body = httpx.post(url, timeout=60, json={
        "model": model_name, "messages": history, "max_tokens": 3,
        "continue_final_message": True, "add_generation_prompt": False,
        "verbose": True}).json()
    assert body["__verbose"]["prompt"].endswith("My favourite colour is")  # no end-of-turn
    plain = httpx.post(url, timeout=60, json={"model": model_name, "messages": history,
                                              "max_tokens": 1}).json()
    assert "__verbose" not in plain
    for bad in ({"continue_final_message": True, "add_generation_prompt": True},
                {"continue_final_message": True, "messages": history[:1]}):
        resp = httpx.post(url, json={"model": model_name, "messages": history, **bad})
        assert resp.status_code == 400
        assert resp.json()["error"]["param"] == "continue_final_message"


def test_progress_and_timings_per_token(server: ServerRunner, model_name: str) -> None:
    events = _events(server, "/v1/chat/completions", {
        "model": model_name, "max_tokens": 4, "stream": True, "return_progress": True,
        "timings_per_token": True,
        "messages": [{"role": "user", "content": "This is a test " * 60}]})
    progress = [e["prompt_progress"] for e in events[:-1] if "prompt_progress" in e]
    assert progress and progress[-1]["processed"] == progress[-1]["total"] > 200
    assert all(p["cache"] <= p["processed"] for p in progress)
    assert [p["processed"] for p in progress] == sorted(p["processed"] for p in progress)
    content = [e for e in events[:-1] if e.get("choices") and e["choices"][0]["delta"].get(
        "content")]
    assert content and all("predicted_per_second" in e["timings"] for e in content)
    responses = _events(server, "/v1/responses", {
        "model": model_name, "input": "This is a test " * 60, "max_output_tokens": 4,
        "stream": True, "return_progress": True, "timings_per_token": True})
    assert any(e["type"] == "response.in_progress" and "prompt_progress" in e
               for e in responses)
    assert any(e["type"] == "response.output_text.delta" and "timings" in e for e in responses)
    assert "timings" in responses[-1] and math.isfinite(
        responses[-1]["timings"]["predicted_per_second"])
