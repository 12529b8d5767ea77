"""Errors come back in OpenAI's JSON shape with the status a client can act on."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import openai
import pytest

from fireside.core.inference.engine import Engine
from fireside.core.server.runner import ServerRunner

from .conftest import MakeServer


def _shape(body: Any, code: str | None = None) -> dict[str, Any]:
    err = body["error"] if "error" in body else body  # openai's .body is the inner object
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code
    return dict(err)


def test_400_bad_json_and_bad_params(server: ServerRunner, client: openai.OpenAI,
                                     model_name: str) -> None:
    resp = httpx.post(server.base_url + "/chat/completions", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert resp.status_code == 400
    _shape(resp.json(), "invalid_json")
    for bad, param in [({"temperature": 9}, "temperature"), ({"n": 9}, "n"),
                       ({"stop": 5}, "stop"), ({"max_tokens": "ten"}, "max_tokens")]:
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model=model_name, messages=[{"role": "user",
                                           "content": "hi"}], **bad)  # type: ignore[call-overload]
        assert _shape(err.value.body)["param"] == param
    resp = httpx.post(server.base_url + "/chat/completions", json={"model": model_name})
    assert resp.status_code == 400 and _shape(resp.json())["param"] == "messages"


def test_401_bad_key(make_server: MakeServer, model_name: str) -> None:
    server = make_server(api_key="s3cret-key")
    wrong = openai.OpenAI(base_url=server.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.models.list()
    assert err.value.status_code == 401
    _shape(err.value.body, "invalid_api_key")
    right = openai.OpenAI(base_url=server.base_url, api_key="s3cret-key", max_retries=0)
    assert right.models.list().data[0].id == model_name
    assert httpx.get(server.base_url.removesuffix("/v1") + "/health").status_code == 200


def test_404_unknown_model_and_route(client: openai.OpenAI, server: ServerRunner) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                  "content": "hi"}])
    assert _shape(err.value.body, "model_not_found")["param"] == "model"
    resp = httpx.get(server.base_url + "/nothing-here")
    assert resp.status_code == 404
    _shape(resp.json())


def test_400_prompt_longer_than_context(client: openai.OpenAI, model_name: str) -> None:
    # OpenAI answers 400 context_length_exceeded (Fireside said 413 before)
    long = "tell me more about the weather " * 600  # ~3600 tokens > n_ctx 2048
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model=model_name, stream=stream,  # type: ignore[call-overload]
                                           messages=[{"role": "user", "content": long}])
        assert err.value.status_code == 400
        _shape(err.value.body, "context_length_exceeded")
    # the server is still fine afterwards
    ok = client.chat.completions.create(model=model_name, max_tokens=2,
                                        messages=[{"role": "user", "content": "hi"}])
    assert ok.usage.completion_tokens > 0  # type: ignore[union-attr]


def test_413_body_too_large(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=2000)
    resp = httpx.post(server.base_url + "/chat/completions",
                      json={"messages": [{"role": "user", "content": "x" * 5000}]})
    assert resp.status_code == 413
    _shape(resp.json(), "request_too_large")


def test_429_when_the_queue_is_full(make_server: MakeServer, model_name: str) -> None:
    server = make_server(max_queue=0)  # one request served, none may wait
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    started = threading.Event()
    stream = client.chat.completions.create(
        model=model_name, stream=True, max_tokens=1500,
        messages=[{"role": "user", "content": "Write a very long story."}])
    try:
        next(iter(stream))
        started.set()
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model=model_name, max_tokens=2,
                                           messages=[{"role": "user", "content": "hi"}])
        assert err.value.status_code == 429
        _shape(err.value.body, "queue_full")
    finally:
        stream.close()


def test_400_when_nothing_is_loaded_and_no_model_named(make_server: MakeServer) -> None:
    server = make_server(source=Engine())
    resp = httpx.post(server.base_url + "/chat/completions",
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 400  # as OpenAI answers a request without a model
    assert _shape(resp.json(), "model_not_loaded")["param"] == "model"
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError):  # a name, but no library to find it in
        client.chat.completions.create(model="some-model",
                                       messages=[{"role": "user", "content": "hi"}])


def test_any_model_name_answers_with_the_loaded_model(make_server: MakeServer,
                                                      model_name: str) -> None:
    server = make_server(any_model_name=True)
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=60)
    resp = client.chat.completions.create(model="gpt-4o", max_tokens=2,
                                          messages=[{"role": "user", "content": "hi"}])
    assert resp.model == model_name  # the answer names the model that wrote it
