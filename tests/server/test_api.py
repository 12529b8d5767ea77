"""The official openai client against a real server: every endpoint and the sampling knobs."""

from __future__ import annotations

import json
import math
import time

import httpx
import jsonschema
import openai

from fireside.core.inference.engine import Engine
from fireside.core.server.runner import ServerRunner

USER = [{"role": "user", "content": "Name three colours."}]


def test_list_models_includes_the_loaded_model(client: openai.OpenAI, model_name: str) -> None:
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids[0] == model_name
    assert client.models.retrieve(model_name).id == model_name


def test_health_reports_the_loaded_model(server: ServerRunner, model_name: str) -> None:
    data = httpx.get(server.base_url.removesuffix("/v1") + "/health").json()
    assert data["status"] == "ok" and data["model"] == model_name


def test_chat_non_streamed(client: openai.OpenAI, model_name: str, server: ServerRunner
                           ) -> None:
    resp = client.chat.completions.create(model=model_name, messages=USER, max_tokens=12,
                                          temperature=0)
    choice = resp.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert 0 < resp.usage.completion_tokens <= 12
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    deadline = time.monotonic() + 5  # the log entry is written once the response has gone out
    while not server.log and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    entry = server.log[-1]  # type: ignore[attr-defined]
    assert (entry.method, entry.path, entry.status, entry.model) == (
        "POST", "/v1/chat/completions", 200, model_name)
    assert entry.tokens == resp.usage.total_tokens


def test_chat_streamed_ends_with_usage(client: openai.OpenAI, model_name: str) -> None:
    stream = client.chat.completions.create(model=model_name, messages=USER, max_tokens=16,
                                            temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert text.strip()
    assert finishes[-1] in ("stop", "length") and all(f is None for f in finishes[:-1])
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    assert 0 < usage.completion_tokens <= 16
    content_chunks = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    assert content_chunks <= usage.completion_tokens


def test_raw_stream_ends_with_done(server: ServerRunner, model_name: str) -> None:
    body = {"model": model_name, "messages": USER, "max_tokens": 5, "stream": True}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body,
                      timeout=60) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)


def test_completions(client: openai.OpenAI, model_name: str) -> None:
    resp = client.completions.create(model=model_name, prompt="Once upon a time",
                                     max_tokens=8, temperature=0)
    assert resp.object == "text_completion"
    assert resp.choices[0].finish_reason == "length" and resp.usage.completion_tokens == 8
    streamed = client.completions.create(model=model_name, prompt="Once upon a time",
                                         max_tokens=8, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices)


def test_embeddings_float_and_base64(client: openai.OpenAI, model_name: str,
                                     engine: Engine) -> None:
    b64 = client.embeddings.create(model=model_name, input=["a cat", "a dog"])  # base64 default
    floats = client.embeddings.create(model=model_name, input="a cat", encoding_format="float")
    assert [d.index for d in b64.data] == [0, 1]
    vec = floats.data[0].embedding
    assert len(vec) == len(b64.data[0].embedding) == engine.loaded.meta.embedding_length  # type: ignore[union-attr]
    assert math.isclose(sum(v * v for v in vec), 1.0, rel_tol=1e-3)
    assert all(math.isclose(a, b, abs_tol=1e-5) for a, b in zip(vec, b64.data[0].embedding,
                                                                   strict=True))
    assert b64.usage.prompt_tokens > 0


def test_max_tokens_stop_and_seed_are_honoured(client: openai.OpenAI, model_name: str) -> None:
    def ask(**kw: object) -> openai.types.chat.ChatCompletion:
        return client.chat.completions.create(
            model=model_name, messages=[{"role": "user", "content": "Write a short poem."}],
            **kw)  # type: ignore[call-overload, no-any-return]

    a = ask(max_tokens=20, temperature=1.0, seed=1234)
    b = ask(max_tokens=20, temperature=1.0, seed=1234)
    assert a.choices[0].message.content == b.choices[0].message.content
    full = ask(max_tokens=30, temperature=0)
    text = full.choices[0].message.content or ""
    word = next(w for w in text.split()[2:] if w.isalpha())
    stopped = ask(max_tokens=30, temperature=0, stop=[word])
    assert stopped.choices[0].finish_reason == "stop"
    assert word not in (stopped.choices[0].message.content or "")
    assert ask(max_tokens=3, temperature=0).usage.completion_tokens == 3  # type: ignore[union-attr]
    ask(max_tokens=5, presence_penalty=1.5, frequency_penalty=1.5, top_p=0.5)


def test_json_schema_output_validates(client: openai.OpenAI, model_name: str) -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["name", "age"],
              "properties": {"name": {"type": "string", "maxLength": 24},
                             "age": {"type": "integer", "minimum": 0, "maximum": 150}}}
    resp = client.chat.completions.create(
        model=model_name, messages=[{"role": "user", "content": "Describe a person."}],
        max_tokens=120, temperature=0.7, seed=3,
        response_format={"type": "json_schema",
                         "json_schema": {"name": "person", "schema": schema, "strict": True}})
    jsonschema.validate(json.loads(resp.choices[0].message.content or ""), schema)


def test_json_object_output_parses(client: openai.OpenAI, model_name: str) -> None:
    # The grammar ends at the object's closing brace: nothing after it (JSON_GBNF allowed endless
    # trailing newlines, so a model could run to 'length' after a complete object).
    resp = client.chat.completions.create(
        model=model_name,  # a prompt that a 135M model answers briefly, not in an endless list
        messages=[{"role": "user", "content": 'Reply with {"city": "Paris"} and nothing else.'}],
        max_tokens=300, temperature=0, response_format={"type": "json_object"})
    content = resp.choices[0].message.content or ""
    assert resp.choices[0].finish_reason == "stop", content
    assert content.startswith("{") and content.endswith("}")
    assert isinstance(json.loads(content), dict)


def test_forced_tool_call_returns_tool_calls(client: openai.OpenAI, model_name: str) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "required": ["city"],
                       "properties": {"city": {"type": "string", "maxLength": 30}}}}}]
    for stream in (False, True):
        kw = {"model": model_name, "max_tokens": 80, "temperature": 0, "tools": tools,
              "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
              "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}
        if stream:
            chunks = list(client.chat.completions.create(stream=True, **kw))  # type: ignore[call-overload]
            calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
            finish = chunks[-1].choices[0].finish_reason
        else:
            resp = client.chat.completions.create(**kw)  # type: ignore[call-overload]
            calls = resp.choices[0].message.tool_calls
            finish = resp.choices[0].finish_reason
        assert finish == "tool_calls"
        assert calls[0].function.name == "get_weather"
        assert isinstance(json.loads(calls[0].function.arguments)["city"], str)
