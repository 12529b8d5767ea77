"""Schemathesis against the running server: no 5xx, no plain-text or traceback bodies.

The spec (``openapi.yaml``) describes the six routes; schemathesis generates requests that
fit it (positive) and that break it (negative), through its Python API, a bounded number per
operation and mode. Run twice: with the starter model pinned (``model`` fixed to its name, so
positive requests really generate) and with nothing loaded and an empty library.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from fireside.core import context
from fireside.core.inference.engine import Engine

from .conftest import MakeServer

log = logging.getLogger("tests.fuzz")
SPEC = Path(__file__).with_name("openapi.yaml")
EXAMPLES = 12  # per operation and mode: up to 24 requests per operation and run
MAX_TOKENS = 8


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def _schema(model: str | None) -> Any:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if model is not None:
        raw["components"]["schemas"]["ModelName"] = {"type": "string", "enum": [model]}
    return schemathesis.openapi.from_dict(raw)


def _bounded(case: Any) -> None:
    """Keep generation short: a mutated max_tokens (huge, or dropped) would decode to n_ctx.

    Only "too long" is clamped; wrong types, zero and negatives still go out as generated.
    """
    body = getattr(case, "body", None)
    if not isinstance(body, dict) or case.operation.path == "/v1/embeddings":
        return
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TOKENS:
            body[name] = MAX_TOKENS
    if "max_tokens" not in body and "max_completion_tokens" not in body:
        body["max_tokens"] = MAX_TOKENS


def _problem(response: Any) -> str | None:
    """What is wrong with one answer, or None: a 5xx, a non-JSON error, a traceback."""
    text = response.content.decode("utf-8", "replace")
    if response.status_code >= 500:
        return f"{response.status_code}: {text[:300]}"
    if "Traceback" in text or 'File "' in text:
        return f"traceback in a {response.status_code} body: {text[:300]}"
    kind = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400:
        try:
            error = json.loads(text)["error"]
            assert isinstance(error["message"], str) and error["message"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return f"{response.status_code} not in OpenAI's error shape ({kind}): {text[:300]}"
    elif not kind.startswith(("application/json", "text/event-stream")):
        return f"{response.status_code} answered as {kind!r}: {text[:200]}"
    elif kind.startswith("text/event-stream") and '"error"' in text:
        return f"an error inside a 200 stream: {text[:300]}"
    return None


def _fuzz(base_url: str, schema: Any) -> Tally:
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.method.upper()} {operation.path} {mode.value}"
            try:
                _check_operation(operation, mode, base_url, label, tally)()
            except Unsatisfiable:  # nothing negative to generate (a GET without parameters)
                tally.skipped.append(label)
    return tally


def _check_operation(operation: Any, mode: GenerationMode, base_url: str, label: str,
                     tally: Tally) -> Any:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        _bounded(case)
        sent = json.dumps(case.body, default=str)[:300] if case.body else ""
        try:
            response = case.call(base_url=base_url, timeout=120)
        except Exception as exc:  # noqa: BLE001 - a dropped connection is a finding too
            tally.failures.append(f"{label}: no answer ({type(exc).__name__}: {exc})\n"
                                  f"    sent {sent}")
            return
        tally.statuses[response.status_code] += 1
        problem = _problem(response)
        if problem is not None:
            tally.failures.append(f"{label}: {problem}\n    sent {sent}")

    return run


def _report(name: str, tally: Tally) -> None:
    line = (f"schemathesis [{name}]: {tally.requests} requests, "
            f"statuses {dict(sorted(tally.statuses.items()))}, "
            f"{len(tally.failures)} failures, skipped {tally.skipped}")
    print(line)
    log.info(line)


@pytest.mark.slow
def test_fuzz_with_the_model_pinned(make_server: MakeServer, model_name: str) -> None:
    server = make_server()
    tally = _fuzz(server.base_url.removesuffix("/v1"), _schema(model_name))
    _report("model pinned", tally)
    assert tally.statuses[200] > 0, "no generated request reached the model"
    assert not tally.failures, "\n".join(tally.failures[:10])


@pytest.mark.slow
def test_fuzz_without_a_model(make_server: MakeServer, app_ctx: context.AppContext) -> None:
    assert app_ctx.engine.loaded is None and not app_ctx.library.list()
    server = make_server(source=app_ctx)
    tally = _fuzz(server.base_url.removesuffix("/v1"), _schema(None))
    _report("no model", tally)
    assert tally.requests > 0
    assert not tally.failures, "\n".join(tally.failures[:10])


# Routes whose own client tests cover them (the official anthropic client, the openai client's
# responses API, llama-server's suite, test_rerank's reranking model) and that the fuzzed spec
# does not describe yet.
NOT_IN_SPEC = {"/v1/messages", "/v1/messages/count_tokens", "/v1/responses",
               "/v1/chat/completions/input_tokens", "/v1/rerank", "/v1/reranking"}


def test_the_spec_covers_the_six_routes(make_server: MakeServer) -> None:
    server = make_server(source=Engine())
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    routes = {r.path for r in server._app.routes
              if r.path.startswith(("/v1", "/health"))} - NOT_IN_SPEC
    assert {p.replace("{model_id}", "{model_id:path}") for p in spec["paths"]} == routes
