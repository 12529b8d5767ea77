"""`fireside` as a user runs it: a real process, the real model, and bad input."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
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


def test_unexpected_error_is_one_line_with_the_log_path(fireside_home: Path) -> None:
    """An OSError nobody planned for (here: the models folder is a file) is not a traceback
    on the terminal; the line says where the traceback went, and it is there."""
    (fireside_home / "data").mkdir(parents=True)
    (fireside_home / "data" / "models").write_text("not a folder")
    result = fireside("ls")
    log_file = fireside_home / "logs" / "fireside.log"
    assert_clean_failure(result, f"(the traceback is in {log_file})")
    assert "File exists" in result.stderr
    logged = log_file.read_text()
    assert "unexpected error in `fireside ls`" in logged
    assert "Traceback" in logged and "FileExistsError" in logged


def test_unexpected_error_without_a_log_file_still_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    result = fireside("ls", env=dict(os.environ, FIRESIDE_HOME=str(blocker)))
    assert_clean_failure(result, "no log file could be opened")


def _serve(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start `fireside serve --port 0`; returns the process, its base URL and stderr lines."""
    proc = subprocess.Popen([*EXE, "serve", "--port", "0", *args], env=env, text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline and proc.poll() is None:
            if not sel.select(timeout=1):
                continue
            line = proc.stderr.readline()
            lines.append(line.strip())
            match = re.search(r"at (http://\S+/v1)", line)
            if match:
                return proc, match.group(1), lines
    proc.kill()
    raise AssertionError(f"server did not start: {lines}")


@pytest.mark.parametrize("how", ["env", "store", "argv"])
def test_serve_takes_the_key_from_env_store_or_argv(how: str, fireside_home: Path) -> None:
    import httpx

    from fireside.core.context import build

    env = dict(os.environ, FIRESIDE_HOME=str(fireside_home), FIRESIDE_SECRETS="file")
    env.pop("FIRESIDE_API_KEY", None)
    args: list[str] = []
    if how == "env":
        env["FIRESIDE_API_KEY"] = "key-from-env"
    elif how == "store":
        settings = build(env).settings
        settings.update(lambda s: setattr(s.server, "api_key", "key-from-env"))
        assert "key-from-env" not in settings.path.read_text()
    else:
        args = ["--api-key", "key-from-env"]
    proc, base, lines = _serve(*args, env=env)
    try:
        assert httpx.get(f"{base}/models", timeout=10).status_code == 401
        ok = httpx.get(f"{base}/models", timeout=10,
                       headers={"Authorization": "Bearer key-from-env"})
        assert ok.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    said = " ".join(lines)
    expected = {"env": "the key came from FIRESIDE_API_KEY",
                "store": "the key is stored in a file only you can read",
                "argv": "the key came from the command line"}[how]
    assert expected in said
    assert ("visible to every user of this machine in `ps`" in said) == (how == "argv")


def test_secrets_are_set_from_stdin_and_never_land_in_settings(fireside_home: Path) -> None:
    env = dict(os.environ, FIRESIDE_HOME=str(fireside_home), FIRESIDE_SECRETS="file")
    set_token = subprocess.run([*EXE, "secrets", "set", "hub-token"], input="hf_fromstdin123\n",
                               env=env, capture_output=True, text=True, timeout=60, check=False)
    assert set_token.returncode == 0, set_token.stderr
    assert "stored in a file only you can read" in set_token.stderr
    shown = json.loads(fireside("secrets", "--json", env=env).stdout)
    assert shown["backend"] == "file" and shown["set"] == {"api-key": False, "hub-token": True}
    settings_file = fireside_home / "config" / "settings.json"
    assert "hf_fromstdin123" not in settings_file.read_text()
    assert "hf_fromstdin123" in (fireside_home / "config" / "secrets.json").read_text()
    assert fireside("secrets", "rm", "hub-token", env=env).returncode == 0
    assert json.loads(fireside("secrets", "--json", env=env).stdout)["set"]["hub-token"] is False
    assert_clean_failure(fireside("secrets", "set", env=env), "say which secret to set")


def test_a_reader_that_leaves_is_not_an_error(fireside_home: Path) -> None:
    """`fireside hw --json | head -0`: stdout is a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([*EXE, "hw", "--json"], stdout=write_end, stderr=subprocess.PIPE,
                                text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
