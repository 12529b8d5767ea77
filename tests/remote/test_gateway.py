"""The local server as a gateway: remote models in /v1/models, chat forwarded and streamed."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from remote_provider import GRANTED_KEY, Provider

from fireside.core import context
from fireside.core.remote.providers import Provider as ProviderConfig
from fireside.core.remote.service import Remote
from fireside.core.server.reqlog import RequestLogEntry
from fireside.core.server.runner import ServerRunner
from fireside.core.settings import ServerSettings

OUR_KEY = "fireside-local-key-77"


@pytest.fixture
def gateway(ctx: context.AppContext, remote: Remote) -> Iterator[ServerRunner]:
    runner = ServerRunner(ctx, ServerSettings(port=0, api_key=OUR_KEY))
    runner.log = []  # type: ignore[attr-defined]
    runner.add_log_listener(runner.log.append)  # type: ignore[attr-defined]
    runner.start()
    yield runner
    runner.stop()


def _client(runner: ServerRunner) -> openai.OpenAI:
    return openai.OpenAI(base_url=runner.base_url, api_key=OUR_KEY, max_retries=0)


def test_models_lists_remote_ones(gateway: ServerRunner) -> None:
    ids = {m.id for m in _client(gateway).models.list().data}
    assert {"groq:llama-3.1-8b-instant", "groq:meta-llama/Llama-3.1-8B-Instruct"} <= ids


def test_chat_is_forwarded_streamed_with_usage_and_our_key_stays_here(
        gateway: ServerRunner, standin: Provider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stream = _client(gateway).chat.completions.create(
        model="groq:meta-llama/Llama-3.1-8B-Instruct", stream=True,
        messages=[{"role": "user", "content": "The sky is"}],
        stream_options={"include_usage": True})
    text, usage, models = "", None, set()
    for chunk in stream:
        models.add(chunk.model)
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == "The sky is blue because of Rayleigh scattering."
    assert usage is not None and usage.completion_tokens == 9 and usage.prompt_tokens == 11
    assert models == {"groq:meta-llama/Llama-3.1-8B-Instruct"}
    seen = standin.requests[-1]
    assert seen.body["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert seen.headers["Authorization"] == f"Bearer {GRANTED_KEY}"
    assert OUR_KEY not in str(seen.headers)
    whole = _client(gateway).chat.completions.create(
        model="groq:llama-3.1-8b-instant", messages=[{"role": "user", "content": "Hi"}])
    assert whole.choices[0].message.content.startswith("The sky")
    assert whole.model == "groq:llama-3.1-8b-instant" and whole.usage.total_tokens == 20
    entries: list[RequestLogEntry] = gateway.log  # type: ignore[attr-defined]

    def logged() -> list[str | None]:
        return [e.model for e in entries if e.path == "/v1/chat/completions"]

    deadline = time.monotonic() + 5  # the log line is written once the response has gone
    while len(logged()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert logged() == ["groq:meta-llama/Llama-3.1-8B-Instruct", "groq:llama-3.1-8b-instant"]
    assert GRANTED_KEY not in caplog.text and OUR_KEY not in caplog.text


def test_provider_failures_come_back_as_openai_errors(gateway: ServerRunner, remote: Remote,
                                                      standin: Provider) -> None:
    client = _client(gateway)
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="groq:nope", messages=[{"role": "user",
                                                                       "content": "x"}])
    assert "does not exist" in str(nf.value)
    standin.faults.rate_limit_times = 1
    standin.faults.retry_after = "7"
    r = httpx.post(gateway.base_url + "/chat/completions",
                   headers={"authorization": f"Bearer {OUR_KEY}"},
                   json={"model": "groq:llama-3.1-8b-instant", "stream": True,
                         "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert "retry after 7 s" in r.json()["error"]["message"]
    remote.store.save(remote.store.get("groq"), api_key="sk-wrong-999999")  # seen at once
    r = httpx.post(gateway.base_url + "/chat/completions",
                   headers={"authorization": f"Bearer {OUR_KEY}"},
                   json={"model": "groq:llama-3.1-8b-instant",
                         "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502
    assert r.json()["error"]["message"].startswith("groq refused the key (401)")
    assert "sk-wrong-999999" not in r.text


def test_client_disconnect_closes_the_upstream_request(gateway: ServerRunner,
                                                       standin: Provider) -> None:
    standin.faults.tokens = 400
    standin.faults.token_delay_s = 0.05
    with httpx.stream("POST", gateway.base_url + "/chat/completions",
                      headers={"authorization": f"Bearer {OUR_KEY}"},
                      json={"model": "groq:llama-3.1-8b-instant", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]},
                      timeout=10) as resp:
        lines = resp.iter_lines()
        got = [next(lines) for _ in range(6)]
        assert any("w0" in line for line in got)
    started = time.monotonic()
    assert standin.client_gone.wait(5), "the provider kept streaming to nobody"
    assert time.monotonic() - started < 5


def test_a_second_fireside_as_the_remote(ctx: context.AppContext,
                                         second_fireside: tuple[str, str]) -> None:
    """A real `fireside serve` process (real model) behind a provider, used three ways."""
    base, key = second_fireside
    ctx.remote.store.save(ProviderConfig("lan", base), key)
    models = ctx.remote.models("lan")
    assert len(models) == 1 and models[0].context_length == 1024
    ref = models[0].ref
    from fireside.core.inference.types import ChatRequest, SamplingParams

    handle = ctx.remote.submit(ref, ChatRequest([{"role": "user", "content": "The sky is"}],
                                                SamplingParams(max_tokens=16, seed=1)))
    text = "".join(handle.stream())
    done = handle.result()
    assert text and done.finish_reason in ("stop", "length")
    assert done.stats.completion_tokens > 0 and done.stats.ttft_s > 0
    runner = ServerRunner(ctx, ServerSettings(port=0))
    runner.start()
    try:
        client = openai.OpenAI(base_url=runner.base_url, api_key="x", max_retries=0)
        assert ref in {m.id for m in client.models.list().data}
        out = client.chat.completions.create(
            model=ref, max_tokens=8, stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "The sky is"}])
        chunks = list(out)
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finally:
        runner.stop()
    ctx.remote.store.secrets.set(ctx.remote.store.key_name("lan"), "not-the-key")
    assert not ctx.remote.test("lan").ok
    assert ctx.remote.test("lan").message.startswith("lan refused the key (401)")


def test_stopping_the_server_ends_a_live_forwarded_stream(ctx: context.AppContext,
                                                          remote: Remote,
                                                          standin: Provider) -> None:
    standin.faults.tokens = 400
    standin.faults.token_delay_s = 0.05
    runner = ServerRunner(ctx, ServerSettings(port=0))
    runner.start()
    try:
        with httpx.stream("POST", runner.base_url + "/chat/completions",
                          json={"model": "groq:llama-3.1-8b-instant", "stream": True,
                                "messages": [{"role": "user", "content": "x"}]},
                          timeout=10) as resp:
            lines = resp.iter_lines()
            assert any("w0" in next(lines) for _ in range(6))
            started = time.monotonic()
            runner.stop()
            assert time.monotonic() - started < 3  # not uvicorn's 5 s graceful wait
    finally:
        runner.stop()
    assert standin.client_gone.wait(5)


def test_a_provider_turned_off_is_seen_by_the_next_request(gateway: ServerRunner,
                                                           remote: Remote) -> None:
    """The gateway caches each provider's client; a change to providers.json ends the cache."""
    client = _client(gateway)
    msgs = [{"role": "user", "content": "x"}]
    assert client.chat.completions.create(model="groq:llama-3.1-8b-instant", messages=msgs)
    groq = remote.store.get("groq")
    groq.enabled = False
    remote.store.save(groq)
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="groq:llama-3.1-8b-instant", messages=msgs)
    assert "turned off" in str(nf.value)
