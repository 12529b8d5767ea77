"""The running server's card in its home: which process serves it, on which address.

``fireside ps`` must find the server of *this* ``FIRESIDE_HOME``, not whatever answers on the
default port (another home's server, or another program on 8080). So a starting server writes
``server.json`` (pid, host, port, base URL) into its home's data folder, removes it when it
stops, and a reader treats a card whose process is gone as stale rather than as a server.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from fireside.core.atomic import write_json_atomic

log = logging.getLogger("fireside.server")
STATE_FILE = "server.json"


@dataclass(frozen=True)
class ServerCard:
    pid: int
    host: str
    port: int
    base_url: str
    started: float
    model: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def state_path(data_dir: Path) -> Path:
    """Where a running server says what it is (read by ``fireside ps``)."""
    return data_dir / STATE_FILE


def write(path: Path, host: str, port: int, base_url: str, model: str | None) -> None:
    """Publish this process's server; a failure is logged, never fatal to serving."""
    card = ServerCard(os.getpid(), host, port, base_url, time.time(), model)
    try:
        write_json_atomic(path, card.to_json())
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)


def clear(path: Path, port: int) -> None:
    """Remove the card if it is still ours (a second server in the same home may own it now)."""
    card = _read(path)
    if card is not None and (card.pid, card.port) != (os.getpid(), port):
        return
    try:
        path.unlink()
    except OSError:
        pass


def find(path: Path) -> tuple[ServerCard | None, ServerCard | None]:
    """``(live card, None)``, ``(None, stale card)`` (its process is gone), or ``(None, None)``.

    A stale card (the server was killed) is removed, so the next look is clean.
    """
    card = _read(path)
    if card is None:
        return None, None
    if card.pid == os.getpid() or _alive(card.pid):
        return card, None
    try:
        path.unlink()
    except OSError:
        pass
    return None, card


def _alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _read(path: Path) -> ServerCard | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ServerCard(pid=int(raw["pid"]), host=str(raw["host"]), port=int(raw["port"]),
                          base_url=str(raw["base_url"]), started=float(raw.get("started", 0)),
                          model=raw.get("model") if isinstance(raw.get("model"), str) else None)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring an unreadable %s: %s", path, exc)
        return None
