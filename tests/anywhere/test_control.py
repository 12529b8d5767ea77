"""`fireside show | load | unload | ps` as a user runs them, against a real `fireside serve`."""

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
import pytest

from fireside.core.cli.main import main
from fireside.core.models import starter


def _fireside(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fireside", *args], capture_output=True,
                          text=True, check=False, timeout=120, env=dict(os.environ))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_show_gives_what_the_model_is_and_its_memory(installed_starter: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "starter", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == starter.NAME and info["architecture"] == "llama"
    assert info["quantization"] and info["context_length"] == 8192
    assert info["parameters"] > 100_000_000
    assert info["chat_template"] and "im_start" in info["chat_template"]
    assert info["license"]["license_id"] == "apache-2.0"
    assert info["license"]["klass"] == "commercial"
    assert info["sha256"] == starter.SHA256
    assert info["memory"]["n_ctx"] == 4096 and info["memory"]["total_bytes"] > info["size_bytes"]
    assert main(["show", "starter"]) == 0
    text = capsys.readouterr().out
    for label in ("architecture", "parameters", "quantization", "context", "license",
                  "source", "sha256", "memory", "chat template"):
        assert label in text
    assert main(["show", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1


def test_load_unload_ps_against_a_running_server(installed_starter: Path,
                                                 fireside_home: Path,
                                                 ctrl_c_reaches_children: None) -> None:
    missing = _fireside("load", "starter")
    assert missing.returncode == 1 and "no Fireside server is running" in missing.stderr
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        est = _fireside("load", starter.NAME, "--estimate-only", "--ctx", "2048",
                        "--gpu-layers", "0", "--json")
        assert est.returncode == 0, est.stderr
        data = json.loads(est.stdout)
        assert data["loaded"] is False and data["n_ctx"] == 2048 and data["allowed"] is True
        assert data["gpu_layers"] == 0 and data["estimate"]["gpu_layers"] == 0
        assert data["estimate"]["kv_cache_bytes"] > 0
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["model"] is None
        refused = _fireside("load", starter.NAME, "--ctx", "4000000")
        assert refused.returncode == 1
        assert "refusing to load" in refused.stderr and "--force" in refused.stderr
        assert "estimate: weights" in refused.stderr
        assert _fireside("load", "no-such-model").returncode == 2
        loaded = _fireside("load", starter.NAME, "--ctx", "1024")
        assert loaded.returncode == 0, loaded.stderr
        ps = _fireside("ps", "--json")
        assert ps.returncode == 0, ps.stderr
        status = json.loads(ps.stdout)
        assert status["model"] == starter.NAME and status["n_ctx"] == 1024
        assert status["slots"] == {"busy": 0, "total": 8} and status["queued"] == 0
        assert status["memory"]["estimate_bytes"] > 0
        assert status["memory"]["process_rss_bytes"] > 0
        human = _fireside("ps")
        for label in ("model", "memory", "slots", "queue", "0 of 8 busy"):
            assert label in human.stdout
        unloaded = _fireside("unload", "--json")
        assert unloaded.returncode == 0 and json.loads(unloaded.stdout) == {
            "unloaded": starter.NAME}
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["model"] is None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_admin_routes_sit_behind_the_api_key() -> None:
    from fastapi.testclient import TestClient

    from fireside.core.inference.engine import Engine
    from fireside.core.server.app import create_app
    from fireside.core.settings import ServerSettings

    app = create_app(Engine(), ServerSettings(api_key="sekret"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post("/fireside/unload", json={}).status_code == 401
        assert client.get("/fireside/status").status_code == 401
        ok = client.get("/fireside/status", headers={"Authorization": "Bearer sekret"})
        assert ok.status_code == 200 and ok.json()["loaded"] is False
        bad = client.post("/fireside/load", json={"model": "x", "ctx": "big"},
                          headers={"Authorization": "Bearer sekret"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "ctx"
        gone = client.post("/fireside/load", json={"model": "nope"},
                           headers={"Authorization": "Bearer sekret"})
        assert gone.status_code == 404
