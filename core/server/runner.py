"""uvicorn in a background thread, started and stopped cooperatively.

The window and ``fireside serve`` both use :class:`ServerRunner`. The listening socket is bound
here, before uvicorn starts, so "port in use" and "LAN without a key" are clear errors raised to
the caller instead of a log line in a dying thread. Stopping first cancels every live generation
(streams then end with ``[DONE]`` at once), then sets ``should_exit``: a live SSE stream can't
hold the shutdown hostage.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fireside.core.context import AppContext
from fireside.core.errors import FiresideError
from fireside.core.inference.engine import Engine
from fireside.core.server import statefile
from fireside.core.server.reqlog import RequestLogEntry
from fireside.core.server.security import check_bind
from fireside.core.server.statefile import state_path
from fireside.core.settings import ServerSettings

# the window takes state_path from here
__all__ = ["ServerRunner", "free_port_near", "port_available", "state_path"]
log = logging.getLogger("fireside.server")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise FiresideError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def port_available(host: str, port: int) -> bool:
    """Could the server listen on ``host:port`` now? (Binds and closes, as :func:`_bind`.)"""
    try:
        _bind(host, port).close()
    except FiresideError:
        return False
    return True


def free_port_near(host: str, port: int, tries: int = 50) -> int | None:
    """The first port from ``port`` upwards that is free on ``host`` (None after ``tries``)."""
    for candidate in range(port, min(65536, port + tries)):
        if port_available(host, candidate):
            return candidate
    return None


class ServerRunner:
    """One server at a time; ``start``/``stop`` are safe to call from any thread."""

    def __init__(self, source: AppContext | Engine, settings: ServerSettings | None = None,
                 *, state_file: Path | None = None) -> None:
        self.source = source
        if settings is None:
            settings = (source.settings.read().server if isinstance(source, AppContext)
                        else ServerSettings())
        self.settings = settings
        self.state_file = state_file
        self._listeners: list[Callable[[RequestLogEntry], None]] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: Any = None
        self._lock = threading.Lock()
        self.port = 0

    # -- log ------------------------------------------------------------------------------
    def add_log_listener(self, listener: Callable[[RequestLogEntry], None]) -> None:
        """``listener(entry)`` for every finished request, called on a server thread."""
        self._listeners.append(listener)

    def _emit(self, entry: RequestLogEntry) -> None:
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:
                log.exception("request-log listener failed")

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def base_url(self) -> str:
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/v1"

    def start(self, timeout: float = 15.0) -> str:
        """Bind, start uvicorn, wait until it serves; returns the base URL."""
        import uvicorn

        from fireside.core.server.app import create_app

        with self._lock:
            if self.running:
                return self.base_url
            s = self.settings
            check_bind(s.host, s.api_key)
            sock = _bind(s.host, s.port)
            self.port = sock.getsockname()[1]
            self._app = create_app(self.source, s, on_request=self._emit, bound_host=s.host)
            config = uvicorn.Config(self._app, log_level="warning", access_log=False,
                                    lifespan="on", timeout_graceful_shutdown=5,
                                    timeout_keep_alive=5, server_header=False)
            server = uvicorn.Server(config)
            self._server = server
            failure: list[BaseException] = []

            def serve() -> None:
                try:
                    server.run(sockets=[sock])
                except BaseException as exc:  # noqa: BLE001 - SystemExit from a failed startup
                    failure.append(exc)
                finally:
                    sock.close()

            self._thread = threading.Thread(target=serve, name="fireside-server", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + timeout
            while not server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = True
                    raise FiresideError(f"the server did not start on {s.host}:{self.port}"
                                        + (f": {failure[0]}" if failure else ""))
                time.sleep(0.02)
            self._write_state()
            log.info("serving the OpenAI-compatible API at %s", self.base_url)
            return self.base_url

    def stop(self, timeout: float = 15.0) -> None:
        """End live generations, then ask uvicorn to exit and wait for it."""
        with self._lock:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            if self._app is not None:
                self._app.state.fireside.registry.cancel_all()
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                log.warning("server thread still running after %.0f s; forcing exit", timeout)
                server.force_exit = True
                thread.join(5)
            self._server = self._thread = self._app = None
            self._clear_state()
            log.info("server stopped")

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI); Ctrl-C stops cleanly."""
        try:
            while self.running:
                time.sleep(0.2)
        finally:
            self.stop()

    # -- state file for `fireside ps` -----------------------------------------------------
    def _write_state(self) -> None:
        if self.state_file is None:
            return
        engine = self.source.engine if isinstance(self.source, AppContext) else self.source
        loaded = engine.loaded
        statefile.write(self.state_file, self.settings.host, self.port, self.base_url,
                        loaded.name if loaded else None)

    def _clear_state(self) -> None:
        if self.state_file is not None:
            statefile.clear(self.state_file, self.port)
