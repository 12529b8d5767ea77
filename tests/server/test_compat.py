"""What OpenAI clients send, answered as OpenAI would (each case was a failure once).

Seen from outside with llama.cpp's server tests and common clients: embeddings over 512 tokens
answered 500, token-id inputs 400 (LangChain's OpenAIEmbeddings sends token ids), token-id
prompts 400, /v1/completions without max_tokens ran to the end of the context (OpenAI: 16),
405 without Allow, an openai-node preflight with x-stainless-* headers refused, and the routes
without /v1 (which llama-server accepts) 404.
"""

from __future__ import annotations

import math

import httpx
import openai
import pytest

from .conftest import MakeServer


def test_embeddings_longer_than_a_batch(client: openai.OpenAI, model_name: str) -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * 120  # ~1300 tokens > 512
    resp = client.embeddings.create(model=model_name, input=long_text, encoding_format="float")
    vector = resp.data[0].embedding
    assert resp.usage.prompt_tokens > 1000
    assert math.isclose(sum(v * v for v in vector), 1.0, rel_tol=1e-3)


def test_embeddings_of_token_ids_match_the_text(client: openai.OpenAI, model_name: str,
                                                server: object) -> None:
    base = str(client.base_url).removesuffix("/v1/").removesuffix("/v1")
    text = "a cat sat on the mat"
    by_text = client.embeddings.create(model=model_name, input=text,
                                       encoding_format="float").data[0].embedding
    ids = httpx.post(base + "/tokenize", json={"content": text, "add_special": True},
                     timeout=30).json()["tokens"]
    by_ids = client.embeddings.create(model=model_name, input=[ids, ids[:3]],
                                      encoding_format="float")
    assert len(by_ids.data) == 2
    assert max(abs(a - b) for a, b in zip(by_text, by_ids.data[0].embedding,
                                          strict=True)) < 1e-4
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model=model_name, input=[10**9])
    assert "vocabulary" in str(err.value)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=model_name, input="x", dimensions=8)


def test_completions_take_token_ids_and_default_to_16(client: openai.OpenAI,
                                                      model_name: str) -> None:
    text = client.completions.create(model=model_name, prompt="Once upon a time",
                                     temperature=0)
    assert text.usage.completion_tokens <= 16  # type: ignore[union-attr]
    assert text.choices[0].finish_reason == "length"
    ids = client.completions.create(model=model_name, prompt=[7454, 2402, 253, 655],
                                    max_tokens=4, temperature=0)
    assert ids.usage.prompt_tokens == 4 and ids.choices[0].text  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model_name, prompt=[-1, 5], max_tokens=2)


def test_routes_without_v1_and_405_allow(client: openai.OpenAI, model_name: str) -> None:
    base = str(client.base_url).removesuffix("/").removesuffix("/v1")
    assert httpx.get(base + "/models").json()["data"][0]["id"] == model_name
    resp = httpx.post(base + "/chat/completions", timeout=60, json={
        "model": model_name, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200 and resp.json()["object"] == "chat.completion"
    wrong = httpx.get(base + "/v1/chat/completions")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


def test_browser_sdk_preflight_is_allowed(make_server: MakeServer) -> None:
    server = make_server(cors_origins=("http://localhost:5173",))
    resp = httpx.options(server.base_url + "/chat/completions", headers={
        "origin": "http://localhost:5173", "access-control-request-method": "POST",
        "access-control-request-headers":
            "authorization,content-type,x-stainless-os,x-stainless-lang,x-stainless-retry-count"})
    assert resp.status_code == 200, resp.text
    assert "x-stainless-os" in resp.headers["access-control-allow-headers"].lower()


def test_logit_bias_bans_and_forces_tokens(client: openai.OpenAI, model_name: str) -> None:
    def ask(**kw: object) -> openai.types.Completion:
        return client.completions.create(  # type: ignore[call-overload, no-any-return]
            model=model_name, prompt="The capital of France is", max_tokens=4,
            temperature=0, **kw)

    base = str(client.base_url).removesuffix("/").removesuffix("/v1")
    plain = ask().choices[0].text
    first = httpx.post(base + "/tokenize", json={"content": plain}).json()["tokens"][0]
    banned = ask(logit_bias={str(first): -100})
    again = httpx.post(base + "/tokenize", json={"content": banned.choices[0].text}).json()
    assert first not in again["tokens"]
    forced = httpx.post(base + "/tokenize", json={"content": " banana"}).json()["tokens"][0]
    assert ask(logit_bias={str(forced): 100}).choices[0].text.startswith(" banana")
    with pytest.raises(openai.BadRequestError):
        ask(logit_bias={"12": 500})
    with pytest.raises(openai.BadRequestError):
        ask(logit_bias={str(10**9): 5})


def test_llama_server_request_forms(client: openai.OpenAI, model_name: str) -> None:
    """Forms llama-server's clients send: mixed prompts, prompt objects, top-level json_schema,
    a schema inside json_object, token text in logit_bias, the input-token count."""
    base = str(client.base_url).removesuffix("/").removesuffix("/v1")
    emb = httpx.post(base + "/v1/embeddings", timeout=60, json={"input": [
        "hello world", {"content": [{"type": "text", "text": "hello "},
                                    {"type": "text", "text": "world"}]},
        {"prompt_string": "hello world"}, [12, "string", 34]]}).json()["data"]
    assert len(emb) == 4 and emb[0]["embedding"] == emb[1]["embedding"] == emb[2]["embedding"]
    one = httpx.post(base + "/v1/embeddings", json={"input": [12, 34, "string", 56]}).json()
    assert len(one["data"]) == 1
    assert httpx.post(base + "/v1/embeddings", json={"input": [{"content": 5}]}).status_code \
        == 400
    chat = {"model": model_name, "max_tokens": 8,
            "messages": [{"role": "user", "content": "Write an example"}]}
    forced = httpx.post(base + "/chat/completions", timeout=60,
                        json={**chat, "json_schema": {"const": "42"}}).json()
    assert forced["choices"][0]["message"]["content"] == '"42"'
    inside = httpx.post(base + "/chat/completions", timeout=60, json={
        **chat, "response_format": {"type": "json_object", "schema": {"const": "7"}}}).json()
    assert inside["choices"][0]["message"]["content"] == '"7"'
    assert httpx.post(base + "/chat/completions", json={
        **chat, "response_format": {"type": "json_object", "schema": 123}}).status_code == 400
    count = httpx.post(base + "/chat/completions/input_tokens", json=chat).json()
    assert count["input_tokens"] > 5
    words = ["the", "The", "a", "is", "of", "book"]
    banned = httpx.post(base + "/completion", timeout=60, json={
        "prompt": "What is the best book", "n_predict": 24, "temperature": 0,
        "logit_bias": [[f" {w} ", -100] for w in words]}).json()["content"]
    assert not any(f" {w} " in banned for w in words)
