"""Load, unload and status of a running server, for `fireside load | unload | ps`.

As ``lms load`` / ``ollama stop`` do: the CLI finds the server of its home
(core/server/statefile.py) and asks it, so the model is loaded in the process that serves it.
A load is judged first with the one memory estimator (core/hardware/estimate.py) and refused
with the estimate when it will not fit, unless ``force``; ``estimate_only`` answers the
estimate and loads nothing. The routes sit behind the same guards as the API (Host, Origin,
API key).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fireside.core.errors import BadModelFileError, FiresideError
from fireside.core.inference.engine import Engine, LoadedModel
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta
from fireside.core.server import params as P
from fireside.core.server.params import ApiError

if TYPE_CHECKING:
    from fireside.core.server.app import ServerState

log = logging.getLogger("fireside.server.admin")
PREFIX = "/fireside"


def judge(meta: ModelMeta, settings: LoadSettings, engine: Engine | None = None, *,
          force: bool = False) -> dict[str, Any]:
    """The load check as JSON; what unloading the current model frees counts as free."""
    from fireside.core.hardware.estimate import check_load, for_settings
    from fireside.core.hardware.probe import probe

    reclaim = 0
    loaded = engine.loaded if engine is not None else None
    if loaded is not None:
        reclaim = for_settings(loaded.meta, loaded.n_ctx, loaded.settings).ram_bytes
    check = check_load(meta, settings, probe(), override=force, reclaim_bytes=reclaim)
    return {"allowed": check.allowed, "overridden": check.overridden,
            "verdict": check.fit.verdict, "reason": check.reason,
            "estimate": check.fit.to_json()}


def status(state: ServerState) -> dict[str, Any]:
    """What `fireside ps` shows: the model, its memory, slots busy and the queue."""
    import psutil

    loaded: LoadedModel | None = state.engine.loaded
    slots = state.engine.slots()  # the batch's own view, as llama-server's /slots gives it
    queued = state.engine.queued
    in_flight = state.models.in_flight
    out: dict[str, Any] = {
        "model": loaded.name if loaded else None, "loaded": loaded is not None,
        "path": str(loaded.path) if loaded else None, "n_ctx": loaded.n_ctx if loaded else None,
        "loaded_by": loaded.loaded_by if loaded else None,
        "slots": {"busy": sum(1 for slot in slots if slot.get("is_processing")),
                  "total": len(slots)},
        "queued": queued, "in_flight": in_flight,
        "memory": {"process_rss_bytes": psutil.Process().memory_info().rss}}
    if loaded is not None:
        from fireside.core.hardware.estimate import estimate

        est = estimate(loaded.meta, loaded.n_ctx,
                       n_gpu_layers=max(0, loaded.settings.n_gpu_layers))
        out["memory"].update(estimate_bytes=est.total_bytes, ram_bytes=est.ram_bytes,
                             vram_bytes=est.vram_bytes)
    return out


def _int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise P.bad(key, f"'{key}' must be a whole number")
    return value


def install_admin(app: FastAPI, state: ServerState) -> None:
    async def run(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(state.executor, fn, *args)

    @app.get(f"{PREFIX}/status")
    async def get_status() -> dict[str, Any]:
        return await run(status, state)

    @app.post(f"{PREFIX}/load")
    async def load(request: Request) -> JSONResponse:
        body = P.parse_json(await request.body())
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise P.bad("model", "'model' must name a local model")
        n_ctx, gpu_layers = _int(body, "ctx"), _int(body, "gpu_layers")
        only, force = bool(body.get("estimate_only")), bool(body.get("force"))
        status_code, answer = await run(_load, state, name, n_ctx, gpu_layers, only, force)
        return JSONResponse(answer, status_code=status_code)

    @app.post(f"{PREFIX}/unload")
    async def unload() -> dict[str, Any]:
        def work() -> str | None:
            loaded = state.engine.loaded
            if loaded is not None:
                state.engine.unload()
            return loaded.name if loaded else None

        return {"unloaded": await run(work)}


def _load(state: ServerState, name: str, n_ctx: int | None, gpu_layers: int | None,
          only: bool, force: bool) -> tuple[int, dict[str, Any]]:
    model = state.models._find(name)  # a listed name, never a path
    if model.error or model.meta is None:
        raise ApiError(400, f"{model.name}: {model.error}", param="model", code="model_unusable")
    settings = state.models._load_settings_for(model.name)
    settings = replace(settings, n_ctx=n_ctx or settings.n_ctx,
                       n_gpu_layers=settings.n_gpu_layers if gpu_layers is None else gpu_layers)
    answer = {"model": model.name, "n_ctx": settings.n_ctx,
              "gpu_layers": settings.n_gpu_layers, "loaded": False,
              **judge(model.meta, settings, state.engine, force=force)}
    if only:
        return 200, answer
    if not answer["allowed"]:
        answer["error"] = {"message": f"refusing to load {model.name}: {answer['reason']} "
                           "(--force to load anyway)", "type": "invalid_request_error",
                           "param": "model", "code": "insufficient_memory"}
        return 409, answer
    with state.models._load_lock:
        try:
            state.engine.load(model.path, settings, name=model.name, by="cli")
        except BadModelFileError as exc:
            raise ApiError(400, str(exc), param="model", code="model_unusable") from exc
        except FiresideError as exc:
            raise ApiError(500, str(exc), "server_error", "model", "model_load_failed") from exc
    if state.models.library is not None:
        state.models.library.touch(model.name)
    answer["loaded"] = True
    log.info("loaded %s on request (ctx %d)", model.name, settings.n_ctx)
    return 200, answer
