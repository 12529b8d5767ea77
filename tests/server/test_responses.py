"""OpenAI's Responses API, driven by the official client's ``client.responses.create``.

Stateless: the whole conversation comes in ``input``. llama-server's ``grammar`` field makes
the starter model (which does not think) write a think block where a test needs one.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from fireside.core.server.responses import to_openai

THINKING = r'root ::= "<think>" [a-z ]{3,40} "</think>" "\n\n" [A-Za-z ]{3,40} "."'
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
FORCED = {"type": "function", "name": "get_weather"}


def test_response_and_its_stream(client: openai.OpenAI, model_name: str) -> None:
    kw: dict[str, Any] = dict(model=model_name, input="Say hello.", temperature=0,
                              instructions="You are terse.", max_output_tokens=16)
    resp = client.responses.create(**kw)
    assert resp.id.startswith("resp_") and resp.object == "response"
    assert resp.status in ("completed", "incomplete") and resp.output_text
    assert [item.type for item in resp.output] == ["message"]
    assert resp.usage is not None and resp.usage.input_tokens > 5
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens

    events = list(client.responses.create(stream=True, **kw))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", f"response.{resp.status}"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[union-attr]
    final = events[-1].response  # type: ignore[union-attr]
    assert deltas == final.output_text == resp.output_text
    assert final.usage.output_tokens == resp.usage.output_tokens


def test_function_call_round_trip(client: openai.OpenAI, model_name: str) -> None:
    ask = [{"role": "user", "content": [{"type": "input_text",
                                         "text": "What is the weather in Paris?"}]}]
    kw: dict[str, Any] = dict(model=model_name, temperature=0, tools=[WEATHER],
                              tool_choice=FORCED, max_output_tokens=60)
    resp = client.responses.create(input=ask, **kw)
    calls = [item for item in resp.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments)["city"], str)

    events = list(client.responses.create(input=ask, stream=True, **kw))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = [e for e in events if e.type == "response.function_call_arguments.done"][0]
    assert done.arguments == calls[0].arguments  # type: ignore[union-attr]
    assert kinds[-1] == "response.completed"

    history = [*ask, {"type": "function_call", "call_id": calls[0].call_id,
                      "name": "get_weather", "arguments": calls[0].arguments},
               {"type": "function_call_output", "call_id": calls[0].call_id,
                "output": "18 C and sunny"}]
    reply = client.responses.create(model=model_name, input=history, tools=[WEATHER],
                                    max_output_tokens=20)
    assert reply.output and reply.status in ("completed", "incomplete")


def test_reasoning_item(client: openai.OpenAI, model_name: str) -> None:
    kw: dict[str, Any] = dict(model=model_name, input="Is the sky blue?", temperature=0,
                              max_output_tokens=120, extra_body={"grammar": THINKING})
    resp = client.responses.create(**kw)
    assert [item.type for item in resp.output] == ["reasoning", "message"]
    thought = resp.output[0].content[0].text  # type: ignore[union-attr, index]
    assert thought and "think>" not in thought + resp.output_text
    events = list(client.responses.create(stream=True, **kw))
    final = events[-1].response  # type: ignore[union-attr]
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].content[0].text.strip() == thought.strip()
    assert final.output_text.strip() == resp.output_text.strip()


@pytest.mark.parametrize(("change", "param"), [
    ({"previous_response_id": "resp_123"}, "previous_response_id"),
    ({"input": 42}, "input"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "x"}]}]},
     "input[0].content"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "x"}]}]},
     "input[0].content"),
    ({"tools": [{"type": "web_search"}]}, "tools[0]"),
])
def test_bad_input_is_a_400(client: openai.OpenAI, model_name: str, change: dict[str, Any],
                            param: str) -> None:
    kw: dict[str, Any] = {"model": model_name, "input": "hi", **change}
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(**kw)
    assert err.value.body["param"] == param  # type: ignore[index]


def test_input_items_translation() -> None:
    """Codex-style history: reasoning, then the assistant's calls, then their outputs."""
    body = to_openai({"instructions": "Be brief.", "max_output_tokens": 9, "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ls"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [],
         "content": [{"type": "reasoning_text", "text": "Look first."}]},
        {"type": "function_call", "call_id": "c1", "name": "sh", "arguments": '{"cmd": "ls"}'},
        {"type": "function_call", "call_id": "c2", "name": "sh", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "a.py"},
        {"type": "function_call_output", "call_id": "c2", "output": "b.py"}]})
    assert body["max_tokens"] == 9
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "ls"},
        {"role": "assistant", "content": "", "reasoning_content": "Look first.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "sh",
                                                          "arguments": '{"cmd": "ls"}'}},
            {"id": "c2", "type": "function", "function": {"name": "sh", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "a.py"},
        {"role": "tool", "tool_call_id": "c2", "content": "b.py"}]


def test_text_format_json_schema(client: openai.OpenAI, model_name: str) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    resp = client.responses.create(model=model_name, input="Is the sky blue?",
                                   max_output_tokens=30, text={"format": {
                                       "type": "json_schema", "name": "answer",
                                       "schema": schema}})
    assert isinstance(json.loads(resp.output_text)["ok"], bool)
