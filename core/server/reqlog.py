"""One line per request for the window's live log and the CLI: who asked what, how it went.

Pure ASGI middleware, so a streamed answer is logged when its last byte is sent (its real
latency) and handlers can add the model and token count through :func:`log_info`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request

log = logging.getLogger("fireside.server.requests")
SCOPE_KEY = "fireside.log"


@dataclass(frozen=True)
class RequestLogEntry:
    time: float  # wall clock, seconds since the epoch
    method: str
    path: str
    model: str | None
    tokens: int | None
    latency_s: float
    status: int
    queue_s: float | None = None  # waited for the engine (generation requests only)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def log_info(request: Request) -> dict[str, Any]:
    """The mutable record a handler fills in (model, tokens) for this request's log line."""
    info: dict[str, Any] = request.scope.setdefault(SCOPE_KEY, {})
    return info


class RequestLog:
    def __init__(self, app: Any, emit: Callable[[RequestLogEntry], None]) -> None:
        self.app = app
        self.emit = emit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info: dict[str, Any] = scope.setdefault(SCOPE_KEY, {})
        status = 500
        wall, start = time.time(), time.perf_counter()

        async def logged_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            entry = RequestLogEntry(wall, scope["method"], scope["path"], info.get("model"),
                                    info.get("tokens"), time.perf_counter() - start, status,
                                    info.get("queue_s"))
            log.info("%s %s %s %s tokens=%s %.0f ms", entry.method, entry.path, entry.status,
                     entry.model or "-", entry.tokens, entry.latency_s * 1000)
            self.emit(entry)
