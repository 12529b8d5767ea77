"""`fireside serve` and `fireside ps` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from fireside.core.models import starter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fireside(*args: str) -> list[str]:
    return [sys.executable, "-m", "fireside", *args]


def test_serve_then_ps_then_stop(installed_starter: Path) -> None:
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
        human = subprocess.run(_fireside("ps"), capture_output=True, text=True, check=False,
                               timeout=60)
        assert starter.NAME in human.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    gone = subprocess.run(_fireside("ps"), capture_output=True, text=True, check=False, timeout=60)
    assert gone.returncode == 1 and "no Fireside server is running" in gone.stderr


def test_serve_refuses_lan_without_a_key() -> None:
    result = subprocess.run(_fireside("serve", "--host", "0.0.0.0", "--port", "0"),
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2
    assert "API key" in result.stderr and "Traceback" not in result.stderr
