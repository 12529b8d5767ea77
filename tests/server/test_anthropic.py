"""Anthropic's Messages API, driven by the official ``anthropic`` client against a real server.

So that Claude Code (which speaks this API) runs against a local model. The starter model does
not think and rarely stops on cue, so llama-server's ``grammar`` field (accepted here too) makes
it write a think block or a known text where a test needs one.
"""

from __future__ import annotations

import shlex
from typing import Any

import anthropic
import httpx
import pytest

from fireside.core.server import snippets
from fireside.core.server.anthropic import to_openai
from fireside.core.server.runner import ServerRunner

from .conftest import MakeServer

THINKING = r'root ::= "<think>" [a-z ]{3,40} "</think>" "\n\n" [A-Za-z ]{3,40} "."'
WEATHER = {"name": "get_weather", "description": "The weather in a city now.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}
# the 2.x client has no temperature argument any more; the API (and Claude Code) still send it
COLD = {"temperature": 0}
HELLO = [{"role": "user", "content": "Say hello."}]


def _client(server: ServerRunner, **kw: Any) -> anthropic.Anthropic:
    kw.setdefault("api_key", "unused")
    return anthropic.Anthropic(base_url=server.base_url.removesuffix("/v1"), max_retries=0,
                               timeout=120, **kw)


@pytest.fixture
def claude(server: ServerRunner) -> anthropic.Anthropic:
    return _client(server)


def test_message_with_system_prompt(claude: anthropic.Anthropic, model_name: str) -> None:
    msg = claude.messages.create(model=model_name, max_tokens=12, extra_body=COLD,
                                 system=[{"type": "text", "text": "You are terse."}],
                                 messages=HELLO)
    assert msg.id.startswith("msg_") and msg.type == "message" and msg.role == "assistant"
    assert msg.model == model_name
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text  # type: ignore[union-attr]
    assert msg.stop_reason in ("end_turn", "max_tokens")
    assert msg.usage.input_tokens > 5 and 0 < msg.usage.output_tokens <= 12

    short = claude.messages.create(model=model_name, max_tokens=3, messages=HELLO)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 3

    counted = claude.messages.count_tokens(model=model_name, messages=HELLO,
                                           system=[{"type": "text", "text": "You are terse."}])
    assert counted.input_tokens == msg.usage.input_tokens


def test_stream_events_and_text(claude: anthropic.Anthropic, model_name: str) -> None:
    kw: dict[str, Any] = dict(model=model_name, max_tokens=20, messages=HELLO,
                              extra_body=COLD)
    whole = claude.messages.create(**kw)
    with claude.messages.stream(**kw) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_start" in events and "content_block_stop" in events
    assert events[-2] == "message_delta"
    assert final.content[0].text == whole.content[0].text  # type: ignore[union-attr]
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.usage.input_tokens == whole.usage.input_tokens


def test_stop_sequence(claude: anthropic.Anthropic, model_name: str) -> None:
    msg = claude.messages.create(model=model_name, max_tokens=30, messages=HELLO,
                                 stop_sequences=["three"],
                                 extra_body={"grammar": 'root ::= "one two three four"'})
    assert msg.content[0].text == "one two "  # type: ignore[union-attr]
    assert (msg.stop_reason, msg.stop_sequence) == ("stop_sequence", "three")


def test_thinking_block(claude: anthropic.Anthropic, model_name: str) -> None:
    kw: dict[str, Any] = dict(model=model_name, max_tokens=120, messages=HELLO,
                              extra_body={"grammar": THINKING, "temperature": 0})
    msg = claude.messages.create(**kw)
    assert [b.type for b in msg.content] == ["thinking", "text"]
    thought, answer = msg.content[0].thinking, msg.content[1].text  # type: ignore[union-attr]
    assert thought and "think>" not in thought + answer and answer.endswith(".")
    with claude.messages.stream(**kw) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking.strip() == thought.strip()  # type: ignore[union-attr]
    assert final.content[1].text.strip() == answer.strip()  # type: ignore[union-attr]


def test_tool_use_round_trip(claude: anthropic.Anthropic, model_name: str) -> None:
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    kw: dict[str, Any] = dict(model=model_name, max_tokens=60, extra_body=COLD, tools=[WEATHER],
                              tool_choice={"type": "tool", "name": "get_weather"})
    msg = claude.messages.create(messages=ask, **kw)  # type: ignore[arg-type]
    assert msg.stop_reason == "tool_use"
    use = [b for b in msg.content if b.type == "tool_use"][0]
    assert use.name == "get_weather" and use.id.startswith("toolu_")  # type: ignore[union-attr]
    assert isinstance(use.input, dict) and isinstance(use.input.get("city"), str)  # type: ignore[union-attr]

    with claude.messages.stream(messages=ask, **kw) as stream:  # type: ignore[arg-type]
        events = [e.type for e in stream]
        streamed = stream.get_final_message()
    assert streamed.stop_reason == "tool_use" and "input_json" in events
    assert [b for b in streamed.content if b.type == "tool_use"][0].input == use.input  # type: ignore[union-attr]

    history = [*ask, {"role": "assistant", "content": [b.model_dump() for b in msg.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,  # type: ignore[union-attr]
                                             "content": "18 C and sunny"}]}]
    reply = claude.messages.create(model=model_name, max_tokens=20, tools=[WEATHER],  # type: ignore[arg-type]
                                   messages=history)  # type: ignore[arg-type]
    assert reply.stop_reason in ("end_turn", "max_tokens", "tool_use") and reply.content


def test_api_key_by_x_api_key_or_bearer(make_server: MakeServer, model_name: str) -> None:
    server = make_server(api_key="sekrit")
    for kw in ({"api_key": "sekrit"}, {"api_key": None, "auth_token": "sekrit"}):
        ok = _client(server, **kw).messages.create(model=model_name, max_tokens=2,
                                                   messages=HELLO)
        assert ok.usage.output_tokens > 0
    with pytest.raises(anthropic.AuthenticationError) as err:
        _client(server, api_key="wrong").messages.create(model=model_name, max_tokens=2,
                                                         messages=HELLO)
    assert err.value.status_code == 401
    assert err.value.body["type"] == "error"  # type: ignore[index]
    assert err.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


@pytest.mark.parametrize("change", [
    {"max_tokens": None},  # required by Anthropic
    {"messages": []},
    {"messages": [{"role": "system", "content": "hi"}]},
    {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
    {"tool_choice": {"type": "sometimes"}},
    {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
])
def test_bad_input_is_a_400_in_anthropic_shape(server: ServerRunner, model_name: str,
                                               change: dict[str, Any]) -> None:
    body = {"model": model_name, "max_tokens": 5, "messages": HELLO, **change}
    body = {k: v for k, v in body.items() if v is not None}
    url = server.base_url.removesuffix("/v1") + "/v1/messages"
    resp = httpx.post(url, json=body, timeout=60)
    assert resp.status_code == 400, resp.text
    assert resp.json()["type"] == "error"
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert resp.json()["error"]["message"]


def test_claude_code_snippet_points_the_client_here(make_server: MakeServer,
                                                    model_name: str) -> None:
    server = make_server(api_key="k1")
    text = snippets.claude_code(server.base_url, model_name, "k1")
    env = dict(shlex.split(line.split("  #")[0])[1].split("=", 1)
               for line in text.splitlines() if line.startswith("export "))
    assert env["ANTHROPIC_BASE_URL"] == server.base_url.removesuffix("/v1")
    assert env["ANTHROPIC_MODEL"] == env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == model_name
    client = anthropic.Anthropic(base_url=env["ANTHROPIC_BASE_URL"], api_key=None,
                                 auth_token=env["ANTHROPIC_AUTH_TOKEN"], max_retries=0)
    msg = client.messages.create(model=env["ANTHROPIC_MODEL"], max_tokens=2, messages=HELLO)
    assert msg.usage.output_tokens > 0


def test_history_translation() -> None:
    """Tool results come first as tool messages; thinking rides along as reasoning_content,
    so a template that keeps the current turn's thinking (Qwen3) sees it."""
    body = to_openai({"max_tokens": 5, "system": "Be brief.", "messages": [
        {"role": "user", "content": "Fix the bug"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Look first.", "signature": ""},
            {"type": "tool_use", "id": "t1", "name": "ls", "input": {"path": "."}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": True,
             "content": [{"type": "text", "text": "denied"}]},
            {"type": "text", "text": "Try again"}]}]})
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Fix the bug"},
        {"role": "assistant", "content": "", "reasoning_content": "Look first.",
         "tool_calls": [{"id": "t1", "type": "function",
                         "function": {"name": "ls", "arguments": '{"path": "."}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "Error: denied"},
        {"role": "user", "content": "Try again"}]


@pytest.mark.parametrize("stream", [False, True])
def test_engine_errors_in_anthropic_shape(claude: anthropic.Anthropic, model_name: str,
                                          stream: bool) -> None:
    """A prompt longer than the context is refused before any event, with its status."""
    huge = [{"role": "user", "content": "hello " * 5000}]
    with pytest.raises(anthropic.BadRequestError) as err:
        if stream:
            with claude.messages.stream(model=model_name, max_tokens=5, messages=huge) as s:
                list(s)
        else:
            claude.messages.create(model=model_name, max_tokens=5, messages=huge)
    assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "context" in err.value.body["error"]["message"]  # type: ignore[index]
