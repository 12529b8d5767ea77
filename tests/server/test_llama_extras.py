"""llama-server's own endpoints, as its clients call them."""

from __future__ import annotations

import json

import httpx
import jsonschema

from .conftest import MakeServer


def _base(server: object) -> str:
    return str(server.base_url).removesuffix("/v1")  # type: ignore[attr-defined]


def test_tokenize_detokenize_and_template(server: object, model_name: str) -> None:
    base = _base(server)
    ids = httpx.post(base + "/tokenize", json={"content": "Hello world"}).json()["tokens"]
    assert ids and all(isinstance(i, int) for i in ids)
    pieces = httpx.post(base + "/tokenize", json={"content": "Hello world",
                                                  "with_pieces": True}).json()["tokens"]
    assert "".join(p["piece"] for p in pieces) == "Hello world"
    back = httpx.post(base + "/detokenize", json={"tokens": ids}).json()["content"]
    assert back == "Hello world"
    assert httpx.post(base + "/detokenize", json={"tokens": [-5]}).status_code == 400
    prompt = httpx.post(base + "/apply-template", json={
        "messages": [{"role": "user", "content": "Hi there"}]}).json()["prompt"]
    assert "Hi there" in prompt and "<|im_start|>" in prompt
    props = httpx.get(base + "/props").json()
    assert props["default_generation_settings"]["n_ctx"] > 0 and props["total_slots"] >= 1
    slots = httpx.get(base + "/slots").json()
    assert slots and not any(s["is_processing"] for s in slots)


def test_native_completion(server: object, model_name: str) -> None:
    base = _base(server)
    body = httpx.post(base + "/completion", timeout=60, json={
        "prompt": "The capital of France is", "n_predict": 6, "temperature": 0}).json()
    assert body["content"] and body["tokens_predicted"] == 6 and body["stopped_limit"]
    assert body["timings"]["predicted_n"] == 6
    with httpx.stream("POST", base + "/completion", timeout=60, json={
            "prompt": "Once upon a time", "n_predict": 8, "stream": True}) as resp:
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: ")]
    assert [e["stop"] for e in events].count(True) == 1 and events[-1]["stop"]
    assert "".join(e["content"] for e in events)
    schema = {"type": "object", "required": ["n"], "additionalProperties": False,
              "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}}}
    constrained = httpx.post(base + "/completion", timeout=60, json={
        "prompt": "A number:", "n_predict": 40, "json_schema": schema}).json()
    jsonschema.validate(json.loads(constrained["content"]), schema)
    assert httpx.post(base + "/completion", json={"prompt": "x", "n_probs": 99}).status_code == 400


def test_metrics_only_when_switched_on(make_server: MakeServer, model_name: str) -> None:
    off = make_server()
    assert httpx.get(_base(off) + "/metrics").status_code == 501
    on = make_server(metrics=True)
    httpx.post(_base(on) + "/completion", timeout=60, json={"prompt": "Hi", "n_predict": 2})
    text = httpx.get(_base(on) + "/metrics").text
    assert "# TYPE fireside:requests_total counter" in text
    assert "fireside:requests_total 1" in text and "fireside:kv_cache_tokens" in text
