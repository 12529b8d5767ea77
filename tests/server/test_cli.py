"""`fireside serve` and `fireside ps` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from fireside.core.models import starter
from fireside.core.server import statefile
from fireside.core.server.runner import ServerRunner
from fireside.core.settings import ServerSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fireside(*args: str) -> list[str]:
    return [sys.executable, "-m", "fireside", *args]


class _Impostor(BaseHTTPRequestHandler):
    """Answers /health like a Fireside server of some other home."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"status": "ok", "model": "impostor-model", "n_ctx": 7}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def busy_default_port() -> Iterator[None]:
    """Something Fireside-like on 127.0.0.1:8080 (ours if the port is free, else whatever is)."""
    try:
        impostor = ThreadingHTTPServer(("127.0.0.1", 8080), _Impostor)
    except OSError:  # already taken: that is the situation under test anyway
        yield
        return
    thread = threading.Thread(target=impostor.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        impostor.shutdown()
        impostor.server_close()
        thread.join(5)


def test_serve_then_ps_then_stop(installed_starter: Path, busy_default_port: None,
                                 fireside_home: Path, ctrl_c_reaches_children: None) -> None:
    port = _free_port()
    proc = subprocess.Popen(_fireside("serve", "--model", "starter", "--port", str(port),
                                      "--ctx", "1024"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = openai.OpenAI(base_url=base + "/v1", api_key="x", max_retries=0)
        assert client.models.list().data[0].id == starter.NAME
        ps = subprocess.run(_fireside("ps", "--json"), capture_output=True, text=True, check=False,
                            timeout=60)
        assert ps.returncode == 0, ps.stderr
        data = json.loads(ps.stdout)
        assert data["running"] and data["model"] == starter.NAME and data["n_ctx"] == 1024
        assert data["port"] == port and data["pid"] == proc.pid
        assert data["home"] == str(fireside_home.resolve() / "data")
        human = subprocess.run(_fireside("ps"), capture_output=True, text=True, check=False,
                               timeout=60)
        assert starter.NAME in human.stdout
        assert f"port {port}" in human.stdout and str(fireside_home.resolve()) in human.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not statefile.state_path(fireside_home / "data").exists(), "card left behind"
    gone = subprocess.run(_fireside("ps"), capture_output=True, text=True, check=False, timeout=60)
    assert gone.returncode == 1 and "no Fireside server is running" in gone.stderr
    assert "impostor" not in gone.stdout + gone.stderr


def test_ps_detects_a_stale_card_and_never_probes_the_default_port(
        fireside_home: Path, busy_default_port: None) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)  # reaped: its pid is gone, as after a kill -9
    card = statefile.state_path(fireside_home / "data")
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(json.dumps({"pid": dead.pid, "host": "127.0.0.1", "port": 8080,
                                "base_url": "http://127.0.0.1:8080/v1", "started": 0}))
    ps = subprocess.run(_fireside("ps"), capture_output=True, text=True, check=False, timeout=60)
    assert ps.returncode == 1, ps.stdout
    assert f"pid {dead.pid}" in ps.stderr and "no Fireside server is running" in ps.stderr
    assert "impostor" not in ps.stdout + ps.stderr and not card.exists()
    again = subprocess.run(_fireside("ps", "--json"), capture_output=True, text=True,
                           check=False, timeout=60)
    assert again.returncode == 1 and json.loads(again.stdout)["running"] is False


def test_serve_refuses_lan_without_a_key() -> None:
    result = subprocess.run(_fireside("serve", "--host", "0.0.0.0", "--port", "0"),
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2
    assert "API key" in result.stderr and "Traceback" not in result.stderr


def test_a_stopping_server_leaves_another_servers_card(fireside_home: Path, engine: Any) -> None:
    """The window and `fireside serve` may share a home: the last to start owns the card."""
    card = statefile.state_path(fireside_home / "data")
    first = ServerRunner(engine, ServerSettings(port=0), state_file=card)
    second = ServerRunner(engine, ServerSettings(port=0), state_file=card)
    first.start()
    try:
        second.start()
        try:
            first.stop()
            live, stale = statefile.find(card)
            assert live is not None and live.port == second.port and stale is None
        finally:
            second.stop()
        assert not card.exists()
    finally:
        first.stop()
