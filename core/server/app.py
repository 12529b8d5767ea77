"""The OpenAI-compatible API, built by a factory around the one shared engine.

``create_app(ctx_or_engine, settings)`` puts the engine in ``app.state`` (llama-cpp-python's
pattern, minus its module-level globals), so the window, the CLI and the API all use the same
loaded weights. Generation requests are submitted without blocking the event loop
(:meth:`Engine.submit`) and decode together on the engine's batch (requests without
``max_tokens`` included: admission never reserves the whole context for a guess). More than
``max_queue`` waiting requests get a 429 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from fireside.core.context import AppContext
from fireside.core.errors import FiresideError
from fireside.core.hardware import offload
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings, SamplingParams, TextRequest
from fireside.core.remote.gateway import Gateway
from fireside.core.server import (
    anthropic,
    choices,
    compat,
    llama_extras,
    rerank,
    responses,
    structured,
)
from fireside.core.server import params as P
from fireside.core.server.admin import install_admin
from fireside.core.server.jobs import Registry, Submit, as_api_error
from fireside.core.server.models import ModelManager
from fireside.core.server.openai_format import (
    ChatFormat,
    Extras,
    TextFormat,
    embeddings_body,
)
from fireside.core.server.params import ApiError
from fireside.core.server.reqlog import RequestLog, RequestLogEntry, log_info
from fireside.core.server.security import (
    ApiKeyGuard,
    BodyLimit,
    HostGuard,
    JsonOnly,
    OriginGuard,
    PathAlias,
)
from fireside.core.settings import ServerSettings

log = logging.getLogger("fireside.server")
LogListener = Callable[[RequestLogEntry], None]
RETRY_AFTER_S = 1  # a queue place frees as soon as one short answer ends
COMPLETIONS_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions (chat has none)
# llama-server and many clients call the OpenAI routes without the /v1 prefix
V1_ALIASES = ("/chat/completions", "/completions", "/embeddings", "/models", "/responses",
              "/messages", "/rerank")


@dataclass
class ServerState:
    """Everything a request handler needs; one per app, no globals."""

    engine: Engine
    models: ModelManager
    settings: ServerSettings
    executor: ThreadPoolExecutor
    registry: Registry = field(default_factory=Registry)
    gateway: Gateway | None = None  # remote models (PROVIDER:MODEL), with an AppContext
    listeners: list[LogListener] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def admit(self) -> None:
        """Take a place in the bounded queue or answer 429 (the one being served is free)."""
        limit = self.settings.max_queue + 1
        if self.engine.queued >= limit or not self.models.try_begin(limit):
            raise ApiError(429, f"the server is busy: {self.settings.max_queue} requests are "
                           "already waiting; retry shortly", "rate_limit_exceeded", None,
                           "queue_full", headers={"retry-after": str(RETRY_AFTER_S)})

    def emit(self, entry: RequestLogEntry) -> None:
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:
                log.exception("request-log listener failed")


def create_app(source: AppContext | Engine, settings: ServerSettings | None = None, *,
               on_request: LogListener | None = None, bound_host: str = "") -> FastAPI:
    """The ASGI app for ``source``'s engine (an AppContext also enables just-in-time loads)."""
    if isinstance(source, AppContext):
        store = source.settings
        settings = settings or store.read().server
        library = source.library

        def load_settings_for(name: str) -> LoadSettings:  # saved, else auto GPU layers
            saved = store.read().load
            if name in saved:
                return saved[name]
            try:
                meta = library.get(name).meta
            except FiresideError:
                meta = None
            return offload.settings_for(saved, name, meta)

        models = ModelManager(source.engine, source.library, settings, load_settings_for)
        engine = source.engine
    else:
        engine = source
        settings = settings or ServerSettings()
        models = ModelManager(engine, None, settings)
    state = ServerState(engine, models, settings,
                        ThreadPoolExecutor(max_workers=settings.max_queue + 4,
                                           thread_name_prefix="fireside-api"))
    if isinstance(source, AppContext):
        state.gateway = Gateway(source.remote, state.registry)
    if on_request is not None:
        state.listeners.append(on_request)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        state.registry.cancel_all()
        models.close()
        state.executor.shutdown(wait=False, cancel_futures=True)
        if state.gateway is not None:
            await state.gateway.aclose()

    app = FastAPI(title="Fireside", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.fireside = state
    app.state.engine = engine
    _install_errors(app)
    _install_routes(app, state)
    install_admin(app, state)
    # added innermost first: the request log sees everything, then Host, Origin, CORS, key…
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(JsonOnly)
    app.add_middleware(ApiKeyGuard, api_key=settings.api_key)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "OPTIONS"],
                           # whatever a browser SDK sends (openai-node's x-stainless-*):
                           # the origin is what is checked, not the header names
                           allow_headers=["*"])
    app.add_middleware(OriginGuard, allowed_origins=settings.cors_origins)
    app.add_middleware(HostGuard, allowed_hosts=settings.allowed_hosts, bound_host=bound_host)
    app.add_middleware(RequestLog, emit=state.emit)
    app.add_middleware(anthropic.AnthropicErrors)  # every error there in Anthropic's shape
    app.add_middleware(PathAlias, aliases=V1_ALIASES, prefix="/v1")
    return app


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        err = ApiError(exc.status_code, str(exc.detail), "invalid_request_error", None,
                       "not_found" if exc.status_code == 404 else None)
        return JSONResponse(err.body(), status_code=exc.status_code,
                            headers=exc.headers)  # 405 keeps its Allow

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        """A bug still answers OpenAI's JSON (never Starlette's plain-text 500)."""
        err = as_api_error(exc)
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


async def _body(request: Request) -> dict[str, Any]:
    return P.parse_json(await request.body())


def _install_routes(app: FastAPI, state: ServerState) -> None:
    engine = state.engine
    loop_run = _runner(state)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        loaded = engine.loaded
        return {"status": "ok", "model": loaded.name if loaded else None,
                "loaded": loaded is not None, "n_ctx": loaded.n_ctx if loaded else None,
                "in_flight": state.models.in_flight, "queued": engine.queued,
                "uptime_s": round(time.time() - state.started, 1)}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        data = await loop_run(state.models.listing)
        if state.gateway is not None:
            data += await state.gateway.listing()
        return {"object": "list", "data": data}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> dict[str, Any]:
        for item in await loop_run(state.models.listing):
            if item["id"] == model_id:
                return dict(item)
        raise ModelManager._unknown(model_id)

    async def admit(request: Request, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Log entry, queue admission (429 when full) and the model, loaded if need be.

        On success the caller owns one ``state.models.end()``; on failure it has been called.
        """
        info = log_info(request)
        info["model"] = body.get("model") if isinstance(body.get("model"), str) else None
        state.admit()
        try:
            name = await loop_run(state.models.resolve, body.get("model"))
        except BaseException:
            state.models.end()
            raise
        info["model"] = name
        return info, name

    api = compat.Api(state, admit, loop_run)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await _body(request)
        sent = await state.gateway.forward(request, body) if state.gateway else None
        if sent is not None:
            return sent
        stream, include_usage = P.stream_flags(body)
        split = P.reasoning_format(body) != "none"
        logprobs = P.logprobs(body) is not None
        extras = Extras.of(body)
        return await api.chat(request, body, lambda name, plan, info: ChatFormat(
            name, plan, include_usage, info, split_reasoning=split, logprobs=logprobs,
            extras=extras), stream=stream)

    @app.post("/v1/chat/completions/input_tokens")
    async def chat_input_tokens(request: Request) -> dict[str, Any]:
        """llama-server's count of a chat request's prompt tokens, template applied."""
        return {"input_tokens": await api.count_tokens(request, await _body(request))}

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        body = await _body(request)
        sampling = P.sampling(body)
        prompts = P.prompts(body)
        n = P.choices(body)
        if sampling.max_tokens is None:
            sampling.max_tokens = (state.settings.default_max_tokens
                                   or COMPLETIONS_DEFAULT_MAX_TOKENS)
        stream, include_usage = P.stream_flags(body)
        grammar = structured.response_grammar(body)
        logprobs = sampling.logprobs is not None
        info, name = await admit(request, body)

        def submitter(prompt: str | list[int], params: SamplingParams) -> Submit:
            return lambda: engine.submit(TextRequest(prompt, params, grammar))

        # OpenAI's order: every prompt's n answers, prompt after prompt
        submits = [submitter(p, s) for p in prompts for s in choices.samplings(sampling, n)]
        fmts = [TextFormat(name, include_usage, info, logprobs=logprobs) for _ in submits]
        tail = choices.openai_tail(fmts[0], n, len(submits))
        return await choices.respond(request, state, submits, choices.shared(fmts), stream,
                                     live=True, combine=choices.openai_combine(n), tail=tail)

    llama_extras.register(app, state, loop_run, admit)
    rerank.register(app, state, loop_run, admit)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await _body(request)
        inputs = P.embedding_inputs(body)
        info, name = await admit(request, body)
        try:
            try:
                vectors, tokens = await loop_run(engine.embed_counted, inputs)
            except ApiError:
                raise
            except Exception as exc:
                raise as_api_error(exc) from exc
        finally:
            state.models.end()
        info["tokens"] = tokens
        return JSONResponse(embeddings_body(name, vectors, tokens,
                                            body.get("encoding_format") or "float"))

    anthropic.register(app, api)
    responses.register(app, api)


def _runner(state: ServerState) -> Callable[..., Any]:
    import asyncio

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(state.executor, fn, *args)

    return run
