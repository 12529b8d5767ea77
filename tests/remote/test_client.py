"""The provider client against a real HTTP stand-in: lists, streams, and every failure."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from remote_provider import GRANTED_KEY, MODELS, Provider

from fireside.core.inference.types import ChatRequest, SamplingParams
from fireside.core.remote.errors import RemoteError
from fireside.core.remote.providers import Provider as ProviderConfig
from fireside.core.remote.providers import split_ref
from fireside.core.remote.service import Remote

HELLO = [{"role": "user", "content": "The sky is"}]


def _chat(remote: Remote, model: str = "llama-3.1-8b-instant", notices: list[str] | None = None
          ) -> tuple[str, object]:
    got: list[str] = []
    done = remote.client("groq").chat(model, HELLO, SamplingParams(max_tokens=32),
                                      on_text=got.append,
                                      on_notice=(notices.append if notices is not None
                                                 else None))
    assert "".join(got) == done.text
    return done.text, done


def test_split_ref_keeps_slashes_and_colons() -> None:
    assert split_ref("groq:llama-3.1-8b-instant") == ("groq", "llama-3.1-8b-instant")
    assert split_ref("vllm:meta-llama/Llama-3.1-8B-Instruct") == \
        ("vllm", "meta-llama/Llama-3.1-8B-Instruct")
    assert split_ref("lan:mistral:7b") == ("lan", "mistral:7b")
    assert split_ref("starter") is None and split_ref("C:/models/x.gguf") is None


def test_models_in_vllm_dialect_cached_and_filtered(remote: Remote, standin: Provider) -> None:
    models = remote.models("groq")
    assert {m.id: m.context_length for m in models} == MODELS
    assert models[0].ref.startswith("groq:")
    before = len(standin.requests)
    assert remote.models("groq") == models  # from the cache: no request
    assert len(standin.requests) == before
    remote.models("groq", refresh=True)
    assert len(standin.requests) == before + 1
    p = remote.store.get("groq")
    p.model_filter = "meta-llama/*, mistral*"
    remote.store.save(p)
    assert sorted(m.id for m in remote.models("groq")) == \
        ["meta-llama/Llama-3.1-8B-Instruct", "mistral:7b"]


def test_stream_measures_here_and_takes_usage_from_provider(remote: Remote,
                                                            standin: Provider) -> None:
    standin.faults.token_delay_s = 0.02
    text, done = _chat(remote)
    assert text == "The sky is blue because of Rayleigh scattering."
    assert done.finish_reason == "stop" and done.model == "groq:llama-3.1-8b-instant"
    stats = done.stats
    assert stats.completion_tokens == 9 and stats.prompt_tokens == 11
    assert 0.01 < stats.ttft_s < 1 and stats.decode_tokens_per_s > 10
    seen = standin.requests[-1]
    assert seen.headers["Authorization"] == f"Bearer {GRANTED_KEY}"
    assert seen.headers["X-Title"] == "Fireside"
    assert seen.body["stream_options"] == {"include_usage": True}
    assert "top_k" not in seen.body and "min_p" not in seen.body


def test_wrong_key_says_who_refused_it(remote: Remote) -> None:
    remote.store.secrets.set(remote.store.key_name("groq"), "sk-wrong-key-123456")
    with pytest.raises(RemoteError) as err:
        _chat(remote)
    assert str(err.value).startswith("groq refused the key (401)")
    assert "sk-wrong-key-123456" not in str(err.value)
    with pytest.raises(RemoteError, match=r"groq refused the key \(401\)"):
        remote.models("groq", refresh=True)


def test_unknown_model_gives_the_providers_message(remote: Remote) -> None:
    with pytest.raises(RemoteError) as err:
        _chat(remote, "llama-9000")
    assert err.value.status == 404
    assert "groq does not know the model 'llama-9000' (404)" in str(err.value)
    assert "does not exist or you do not have access" in str(err.value)


def test_429_is_waited_out_once_and_said(remote: Remote, standin: Provider) -> None:
    standin.faults.rate_limit_times = 1
    notices: list[str] = []
    started = time.monotonic()
    text, _ = _chat(remote, notices=notices)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 honoured
    assert text.startswith("The sky")
    assert notices and "429" in notices[0] and "retrying" in notices[0] and "1 s" in notices[0]


def test_429_with_a_long_wait_says_how_long(remote: Remote, standin: Provider) -> None:
    standin.faults.rate_limit_times = 5
    standin.faults.retry_after = "30"
    started = time.monotonic()
    with pytest.raises(RemoteError) as err:
        _chat(remote)
    assert time.monotonic() - started < 2
    assert err.value.retry_after == 30
    assert "rate-limiting requests (429); it asks to retry after 30 s" in str(err.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("url", [f"http://127.0.0.1:{_closed_port()}/v1",
                                 "http://no-such-host.invalid/v1"])
def test_unreachable_is_one_line_within_the_timeout(remote: Remote, url: str) -> None:
    remote.store.save(ProviderConfig("groq", url, "groq"))
    started = time.monotonic()
    with pytest.raises(RemoteError) as err:
        _chat(remote)
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert message.startswith("could not reach groq at") and "\n" not in message
    if "invalid" in url:
        assert "DNS" in message or "resolve" in message or "could not reach" in message


def test_stream_cut_mid_way_keeps_the_partial_reply(remote: Remote, standin: Provider) -> None:
    standin.faults.drop_after = 3
    notices: list[str] = []
    text, done = _chat(remote, notices=notices)
    assert text == "The sky is" and done.finish_reason == "cut"
    assert notices and "closed mid-reply" in notices[0] and "marked as cut" in notices[0]


def test_a_stall_ends_within_the_read_timeout(remote: Remote, standin: Provider) -> None:
    standin.faults.stall_after = 2
    standin.faults.stall_s = 5
    started = time.monotonic()
    text, done = _chat(remote)
    assert time.monotonic() - started < 3
    assert text == "The sky" and done.finish_reason == "cut"
    standin.faults.stall_after = 0
    with pytest.raises(RemoteError, match="groq sent nothing for 1 s"):
        _chat(remote)


def test_malformed_chunk_is_reported(remote: Remote, standin: Provider) -> None:
    standin.faults.malformed_after = 2
    with pytest.raises(RemoteError, match="malformed stream chunk"):
        _chat(remote)


def test_handle_streams_and_stops_a_silent_provider(remote: Remote, standin: Provider) -> None:
    handle = remote.submit("groq:llama-3.1-8b-instant",
                           ChatRequest(HELLO, SamplingParams(max_tokens=16)))
    assert "".join(handle.stream()) == "The sky is blue because of Rayleigh scattering."
    assert handle.result().stats.completion_tokens == 9
    remote._timeouts["read_timeout"] = 30.0
    standin.faults.stall_after = 1
    handle = remote.submit("groq:llama-3.1-8b-instant", ChatRequest(HELLO))
    deadline = time.monotonic() + 5
    while "The" not in handle.take().text and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    handle.cancel()
    done = handle.result(timeout=5)
    assert time.monotonic() - started < 1.0  # the socket is shut, not waited out
    assert done.finish_reason == "cancelled"


def test_keys_never_reach_logs_or_errors(remote: Remote, standin: Provider,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    for setup in ("drop", "stall", "malformed", "404", "429"):
        standin.faults.drop_after = 3 if setup == "drop" else -1
        standin.faults.stall_after = 1 if setup == "stall" else -1
        standin.faults.stall_s = 3
        standin.faults.malformed_after = 1 if setup == "malformed" else -1
        standin.faults.rate_limit_times = 3 if setup == "429" else 0
        standin.faults.retry_after = "60"
        try:
            _chat(remote, "nope" if setup == "404" else "llama-3.1-8b-instant", messages)
        except RemoteError as exc:
            messages.append(str(exc))
    standin.faults.rate_limit_times = 0
    wrong = "sk-this-is-not-it-42"
    remote.store.secrets.set(remote.store.key_name("groq"), wrong)
    for call in (lambda: _chat(remote), lambda: remote.models("groq", refresh=True)):
        try:
            call()
        except RemoteError as exc:
            messages.append(str(exc))
    assert len(messages) >= 6
    for text in [*messages, caplog.text]:
        assert GRANTED_KEY not in text and wrong not in text


def test_key_lives_in_the_secret_store_not_in_providers_json(remote: Remote) -> None:
    assert GRANTED_KEY not in remote.store.file.read_text()
    assert remote.store.api_key("groq") == GRANTED_KEY
    secrets_file = remote.store.secrets.file
    assert secrets_file.stat().st_mode & 0o077 == 0
    remote.store.remove("groq")
    assert remote.store.api_key("groq") == ""
