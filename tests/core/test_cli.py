"""`fireside` as a user runs it: a real process, the real model, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "fireside"]


def fireside(*args: str, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout,
                          env=env or dict(os.environ), check=False)


def assert_clean_failure(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and "Traceback" not in result.stderr


@pytest.fixture
def pulled(starter_file: Path) -> None:
    result = fireside("pull", "starter")
    assert result.returncode == 0, result.stderr


@pytest.mark.usefixtures("pulled")
def test_run_json_has_text_and_stats() -> None:
    result = fireside("run", "starter", "Why is the sky blue?", "--json", "--max-tokens", "40",
                      "--seed", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["text"]) > 20
    for key in ("ttft_s", "prefill_tokens_per_s", "decode_tokens_per_s", "prompt_tokens",
                "completion_tokens"):
        assert data["stats"][key] > 0, key


@pytest.mark.usefixtures("pulled")
def test_run_verbose_streams_and_prints_stats() -> None:
    result = fireside("run", "starter", "Say hello.", "--verbose", "--max-tokens", "20",
                      "--system", "You are terse.", "--temp", "0.2", "--ctx", "1024")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "decode" in result.stderr and "tok/s" in result.stderr and "context" in result.stderr


@pytest.mark.usefixtures("pulled")
def test_repl_reads_until_bye() -> None:
    proc = subprocess.run([*EXE, "run", "starter", "--max-tokens", "8"], input="Hi\n/bye\n",
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert ">>>" in proc.stdout


@pytest.mark.usefixtures("pulled")
def test_ls_import_rm(tmp_path: Path, starter_file: Path) -> None:
    listed = json.loads(fireside("ls", "--json").stdout)
    assert [m["license"] for m in listed] == ["apache-2.0"]
    assert listed[0]["quantization"] == "Q4_1" and listed[0]["context_length"] == 8192
    copy = tmp_path / "My-Copy.Q4_1.gguf"
    copy.write_bytes(starter_file.read_bytes())
    assert fireside("import", str(copy), "--link").returncode == 0
    names = {m["name"] for m in json.loads(fireside("ls", "--json").stdout)}
    assert "my-copy.q4_1" in names
    assert fireside("rm", "my-copy.q4_1").returncode == 0
    assert copy.exists()  # linked: forgotten, never deleted


@pytest.mark.usefixtures("pulled")
def test_run_by_path(starter_file: Path) -> None:
    result = fireside("run", str(starter_file), "Hi", "--max-tokens", "4", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["text"]


def test_bad_inputs_exit_2_and_delete_nothing(tmp_path: Path, starter_file: Path) -> None:
    not_gguf = tmp_path / "photo.gguf"
    not_gguf.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(starter_file.read_bytes()[:200_000])
    assert_clean_failure(fireside("run", str(tmp_path / "missing.gguf"), "hi"), "no such file")
    assert_clean_failure(fireside("run", str(not_gguf), "hi"), "not a GGUF")
    assert_clean_failure(fireside("run", str(truncated), "hi"), "truncated")
    assert_clean_failure(fireside("run", "no-such-model", "hi"), "no model named")
    assert_clean_failure(fireside("import", str(truncated)), "truncated")
    assert_clean_failure(fireside("import", str(tmp_path / "missing.gguf")), "no such file")
    assert_clean_failure(fireside("rm", "no-such-model"), "no model named")
    assert not_gguf.exists() and truncated.exists()


def test_window_without_display_explains_instead_of_aborting() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = fireside(env=env)
    assert result.returncode == 2
    assert "cannot open the window" in result.stderr
    assert "fireside serve" in result.stderr and "offscreen" in result.stderr
