"""llama-server's own endpoints that clients and tools use, on the same engine.

``/tokenize``, ``/detokenize``, ``/apply-template``, ``/props``, ``/slots`` (read-only), the
native ``/completion`` (``n_predict``, ``grammar``, top-level ``json_schema``, streamed as
llama-server streams it) and, when the ``metrics`` setting is on, ``/metrics`` in Prometheus'
text format. Shapes follow llama-server's README so its clients (and its own test suite) work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from fireside.core.inference.types import TextRequest
from fireside.core.server import choices, native, structured
from fireside.core.server import params as P
from fireside.core.server.params import ApiError, bad
from fireside.core.server.reqlog import RequestLogEntry

if TYPE_CHECKING:
    from fireside.core.inference.handle import Handle
    from fireside.core.server.app import ServerState

Admit = Callable[[Request, dict[str, Any]], Awaitable[tuple[dict[str, Any], str]]]


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
             admit: Admit) -> None:
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
        messages = P.messages(body, state.settings.media_path)
        return {"prompt": await loop_run(engine.render_chat, messages)}

    @app.get("/props")
    async def props() -> dict[str, Any]:
        loaded = engine.loaded
        return {"default_generation_settings": {"n_ctx": loaded.n_ctx if loaded else 0,
                                                "params": {"n_predict": -1}},
                "total_slots": len(engine.slots()) or 1,
                "model_alias": loaded.name if loaded else None,
                "model_path": str(loaded.path) if loaded else None,
                "chat_template": (loaded.meta.chat_template or "") if loaded else "",
                "modalities": {"vision": bool(loaded and loaded.projector), "audio": False},
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
        opts = native.options(body)
        prompts = native.prompts(body)
        sampling = P.sampling(native.sampling_body(body))
        sampling.max_tokens = sampling.max_tokens or state.settings.default_max_tokens or None
        if opts.n_probs:
            sampling.logprobs, sampling.post_sampling_probs = opts.n_probs, opts.post_sampling
        grammar = _native_grammar(body)
        stream = P.flag(body, "stream")
        info, name = await admit(request, body)

        def submitter(prompt: native.Prompt) -> Callable[[], Handle]:
            return lambda: engine.submit(TextRequest(prompt, sampling, grammar))

        fmts = [native.NativeFormat(name, sampling, opts, p, info) for p in prompts]
        # several prompts: a list of answers, as llama-server gives them
        combine = (lambda pairs: pairs[0][0]) if len(prompts) == 1 else \
            (lambda pairs: [body for body, _ in pairs])
        return await choices.respond(request, state, [submitter(p) for p in prompts], fmts,
                                     stream, live=True, combine=combine)
