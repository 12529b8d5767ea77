"""llama-server's own endpoints that clients and tools use, on the same engine.

``/tokenize``, ``/detokenize``, ``/apply-template``, ``/props``, ``/slots`` (read-only), the
native ``/completion`` (``n_predict``, ``grammar``, top-level ``json_schema``, streamed as
llama-server streams it) and, when the ``metrics`` setting is on, ``/metrics`` in Prometheus'
text format. Shapes follow llama-server's README so its clients (and its own test suite) work.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from fireside.core.inference.types import Completion, TextRequest
from fireside.core.server import params as P
from fireside.core.server import structured
from fireside.core.server.openai_format import note_usage
from fireside.core.server.params import ApiError, bad
from fireside.core.server.reqlog import RequestLogEntry

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle
    from fireside.core.server.app import ServerState

Admit = Callable[[Request, dict[str, Any]], Awaitable[tuple[dict[str, Any], str]]]
Respond = Callable[..., Awaitable[Response]]


class NativeFormat:
    """``/completion`` bodies and stream events (``{"content", "stop"}``, no ``[DONE]``)."""

    DONE = ""

    def __init__(self, model: str, stops: list[str], info: dict[str, Any]) -> None:
        self.model = model
        self.stops = stops
        self.info = info

    def attach(self, handle: Handle) -> None:
        """Nothing to learn from the handle."""

    def body(self, completion: Completion) -> dict[str, Any]:
        note_usage(self.info, completion)
        stats = completion.stats
        word = next((s for s in self.stops if completion.finish_reason == "stop"
                     and s and completion.text.endswith(s)), "")
        limit = completion.finish_reason == "length"
        decode_s = max(stats.total_s - stats.ttft_s, 1e-9)
        return {
            "content": completion.text, "model": self.model, "stop": True,
            "tokens_predicted": stats.completion_tokens, "tokens_evaluated": stats.prompt_tokens,
            "stop_type": "limit" if limit else "word" if word else "eos",
            "stopped_eos": not limit and not word, "stopped_limit": limit,
            "stopped_word": bool(word), "stopping_word": word, "truncated": False,
            "tokens_cached": stats.prompt_tokens - stats.prefill_tokens,
            "timings": {"prompt_n": stats.prefill_tokens, "prompt_ms": stats.ttft_s * 1000,
                        "predicted_n": stats.completion_tokens,
                        "predicted_ms": decode_s * 1000,
                        "predicted_per_second": stats.decode_tokens_per_s}}

    def chunk(self, text: str) -> str:
        return f"data: {json.dumps({'content': text, 'stop': False}, ensure_ascii=False)}\n\n"

    def final(self, completion: Completion) -> list[str]:
        return [f"data: {json.dumps({**self.body(completion), 'content': ''})}\n\n"]


def _native_request(body: dict[str, Any]) -> tuple[dict[str, Any], str | list[int]]:
    """llama-server's field names in the OpenAI shape that params.sampling reads."""
    n_predict = body.get("n_predict", body.get("max_tokens"))
    if n_predict is not None and (not isinstance(n_predict, int) or isinstance(n_predict, bool)):
        raise bad("n_predict", "'n_predict' must be an integer")
    openai_like: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p", "top_k", "min_p",
                                        "repeat_penalty", "presence_penalty",
                                        "frequency_penalty", "seed", "stop", "logit_bias")
                                  if k in body}
    if isinstance(openai_like.get("seed"), int) and openai_like["seed"] < 0:
        del openai_like["seed"]  # llama-server's -1: a random seed
    if n_predict is not None and n_predict >= 0:
        openai_like["max_tokens"] = max(n_predict, 1)
    if body.get("n_probs"):
        raise bad("n_probs", "token probabilities are not supported by this server yet")
    return openai_like, P.prompt({"prompt": body.get("prompt", body.get("content"))})


def _native_grammar(body: dict[str, Any]) -> Any:
    return structured.response_grammar({k: body[k] for k in ("grammar", "json_schema")
                                        if body.get(k) is not None})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fireside")
    except PackageNotFoundError:
        return "unknown"


class Metrics:
    """Counters for ``/metrics``, fed by the request log (one source of what was served)."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.tokens = 0

    def __call__(self, entry: RequestLogEntry) -> None:
        self.requests += 1
        self.errors += entry.status >= 400
        self.tokens += entry.tokens or 0

    def text(self, state: ServerState) -> str:
        slots = state.engine.slots()
        used = sum(s["n_cached"] for s in slots)
        loaded = state.engine.loaded
        lines = [
            ("requests_total", "counter", "Requests answered", self.requests),
            ("requests_errors_total", "counter", "Requests answered with an error", self.errors),
            ("tokens_total", "counter", "Prompt and generated tokens of answered requests",
             self.tokens),
            ("requests_processing", "gauge", "Requests being generated",
             sum(s["is_processing"] for s in slots)),
            ("requests_deferred", "gauge", "Requests waiting in the queue",
             state.engine.queued),
            ("kv_cache_tokens", "gauge", "Tokens held in the KV cache", used),
            ("kv_cache_usage_ratio", "gauge", "Share of the context in use",
             used / loaded.n_ctx if loaded else 0.0),
        ]
        out = []
        for name, kind, help_text, value in lines:
            out += [f"# HELP fireside:{name} {help_text}", f"# TYPE fireside:{name} {kind}",
                    f"fireside:{name} {value}"]
        return "\n".join(out) + "\n"


def register(app: FastAPI, state: ServerState, loop_run: Callable[..., Awaitable[Any]],
             admit: Admit, respond: Respond) -> None:
    engine = state.engine
    metrics = Metrics()
    state.listeners.append(metrics)

    async def json_body(request: Request) -> dict[str, Any]:
        return P.parse_json(await request.body())

    @app.post("/tokenize")
    async def tokenize(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        content = body.get("content")
        if not isinstance(content, str):
            raise bad("content", "'content' must be a string")
        ids = await loop_run(lambda: engine.tokenize(
            content, special=True, add_bos=bool(body.get("add_special", False))))
        if body.get("with_pieces"):
            pieces = [await loop_run(engine.detokenize, [i]) for i in ids]
            return {"tokens": [{"id": i, "piece": p} for i, p in zip(ids, pieces, strict=True)]}
        return {"tokens": ids}

    @app.post("/detokenize")
    async def detokenize(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        ids = body.get("tokens", [])
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise bad("tokens", "'tokens' must be a list of token ids")
        return {"content": await loop_run(engine.detokenize, ids) if ids else ""}

    @app.post("/apply-template")
    async def apply_template(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        return {"prompt": await loop_run(engine.render_chat, P.messages(body))}

    @app.get("/props")
    async def props() -> dict[str, Any]:
        loaded = engine.loaded
        return {"default_generation_settings": {"n_ctx": loaded.n_ctx if loaded else 0,
                                                "params": {"n_predict": -1}},
                "total_slots": len(engine.slots()) or 1,
                "model_alias": loaded.name if loaded else None,
                "model_path": str(loaded.path) if loaded else None,
                "chat_template": (loaded.meta.chat_template or "") if loaded else "",
                "modalities": {"vision": False, "audio": False},
                "build_info": f"fireside {_version()}"}

    @app.get("/slots")
    async def slots() -> list[dict[str, Any]]:
        loaded = engine.loaded
        return [{**s, "n_ctx": loaded.n_ctx if loaded else 0} for s in engine.slots()]

    @app.get("/metrics")
    async def prometheus() -> Response:
        if not state.settings.metrics:
            raise ApiError(501, "metrics are off: turn on the server's 'metrics' setting",
                           "not_supported_error", None, "metrics_disabled")
        return PlainTextResponse(metrics.text(state),
                                 media_type="text/plain; version=0.0.4")

    @app.post("/completion")
    async def completion(request: Request) -> Response:
        body = await json_body(request)
        openai_like, prompt = _native_request(body)
        sampling = P.sampling(openai_like)
        sampling.max_tokens = sampling.max_tokens or state.settings.default_max_tokens or None
        grammar = _native_grammar(body)
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise bad("stream", "'stream' must be a boolean")
        info, name = await admit(request, body)
        fmt = NativeFormat(name, sampling.stop, info)
        return await respond(request, state,
                             lambda: engine.submit(TextRequest(prompt, sampling, grammar)),
                             fmt, stream, live=True)
