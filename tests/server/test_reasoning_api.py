"""A reasoning model's thinking comes back as ``reasoning_content`` (message and stream deltas),
as llama-server and LM Studio return it; llama-server's ``grammar`` field constrains the answer.

The real starter model does not think, so a grammar makes it write a think block: the same text
a Qwen3 or R1 distill would send through the same code.
"""

from __future__ import annotations

import httpx
import openai

THINKING = r'root ::= "<think>" [a-z ]{3,40} "</think>" "\n\n" [A-Za-z ]{3,40} "."'


def _ask(client: openai.OpenAI, model: str, **extra: object) -> dict[str, object]:
    return dict(model=model, max_tokens=120, temperature=0,  # type: ignore[return-value]
                messages=[{"role": "user", "content": "Is the sky blue?"}],
                extra_body={"grammar": THINKING, **extra})


def test_thinking_is_returned_apart(client: openai.OpenAI, model_name: str) -> None:
    resp = client.chat.completions.create(**_ask(client, model_name))  # type: ignore[call-overload]
    message = resp.choices[0].message
    reasoning = message.model_extra["reasoning_content"]  # type: ignore[index]
    assert reasoning and "<think>" not in reasoning and "</think>" not in reasoning
    assert message.content and "think>" not in message.content
    assert message.content.endswith(".")

    chunks = list(client.chat.completions.create(stream=True, **_ask(client, model_name)))  # type: ignore[call-overload]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    streamed_thought = "".join((d.model_extra or {}).get("reasoning_content") or ""
                               for d in deltas)
    streamed_answer = "".join(d.content or "" for d in deltas)
    assert streamed_thought.strip() == reasoning.strip()
    assert streamed_answer.strip() == message.content.strip()
    assert "think>" not in streamed_thought + streamed_answer
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_reasoning_format_none_keeps_the_raw_text(client: openai.OpenAI,
                                                  model_name: str) -> None:
    resp = client.chat.completions.create(  # type: ignore[call-overload]
        **_ask(client, model_name, reasoning_format="none"))
    message = resp.choices[0].message
    assert (message.content or "").startswith("<think>")
    assert "reasoning_content" not in (message.model_extra or {})


def test_a_broken_grammar_is_a_400_and_the_server_lives(client: openai.OpenAI,
                                                        model_name: str) -> None:
    for grammar in ('root ::= "unclosed', "root ::= undefined-rule", 42):
        try:
            client.chat.completions.create(
                model=model_name, max_tokens=5, messages=[{"role": "user", "content": "hi"}],
                extra_body={"grammar": grammar})
        except openai.BadRequestError as err:
            assert err.body["param"] == "grammar"  # type: ignore[index]
        else:
            raise AssertionError(f"{grammar!r} was accepted")
    ok = client.chat.completions.create(model=model_name, max_tokens=2,
                                        messages=[{"role": "user", "content": "hi"}])
    assert ok.usage.completion_tokens > 0  # type: ignore[union-attr]


def test_null_means_unset(client: openai.OpenAI, model_name: str) -> None:
    body = {"model": model_name, "max_tokens": 3, "stream": None, "tool_choice": None,
            "tools": None, "stop": None, "temperature": None, "response_format": None,
            "messages": [{"role": "user", "content": "hi"}]}
    resp = httpx.post(str(client.base_url) + "chat/completions", json=body, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"]
