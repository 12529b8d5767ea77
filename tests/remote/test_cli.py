"""`fireside provider …`, `fireside run PROVIDER:MODEL` and `fireside ls` against the stand-in."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from remote_provider import GRANTED_KEY, Provider

from fireside.core.cli.main import main


def _add_groq(standin: Provider, monkeypatch: pytest.MonkeyPatch, key: str = GRANTED_KEY) -> None:
    monkeypatch.setenv("FIRESIDE_PRESET_URL_GROQ", standin.base_url)
    monkeypatch.setenv("GROQ_TEST_KEY", key)
    assert main(["provider", "add", "groq", "--preset", "groq",
                 "--api-key-env", "GROQ_TEST_KEY"]) == 0


def test_add_from_preset_then_ls_models_test_rm(standin: Provider, fireside_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _add_groq(standin, monkeypatch)
    capsys.readouterr()
    assert main(["provider", "ls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"name": "groq", "base_url": standin.base_url, "preset": "groq",
                     "headers": [], "model_filter": "", "enabled": True, "has_key": True}]
    assert main(["provider", "models", "groq", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    vllm = next(m for m in models if m["id"] == "meta-llama/Llama-3.1-8B-Instruct")
    assert vllm["ref"] == "groq:meta-llama/Llama-3.1-8B-Instruct"
    assert vllm["context_length"] == 32768
    assert main(["provider", "test", "groq"]) == 0
    assert "groq answered in" in capsys.readouterr().out
    assert main(["provider", "rm", "groq"]) == 0
    capsys.readouterr()
    assert main(["provider", "test", "groq"]) == 2
    assert "no provider named 'groq'" in capsys.readouterr().err
    for path in fireside_home.rglob("*"):
        if path.is_file():
            assert GRANTED_KEY.encode() not in path.read_bytes() or path.name == "secrets.json"


def test_key_from_stdin_never_argv(standin: Provider, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(GRANTED_KEY + "\n"))
    assert main(["provider", "add", "lan", "--base-url", standin.base_url]) == 0
    assert main(["provider", "test", "lan"]) == 0
    with pytest.raises(SystemExit) as exit_:
        main(["provider", "add", "x", "--base-url", standin.base_url, "--api-key", "k"])
    assert exit_.value.code == 2
    assert main(["provider", "add", "Bad Name", "--base-url", standin.base_url,
                 "--no-key"]) == 2
    assert main(["provider", "add", "y", "--base-url", "ftp:/nope", "--no-key"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("fireside: 'ftp:/nope' is not a base URL")


def test_run_a_remote_model(standin: Provider, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    _add_groq(standin, monkeypatch)
    capsys.readouterr()
    assert main(["run", "groq:llama-3.1-8b-instant", "The sky is", "--verbose"]) == 0
    out = capsys.readouterr()
    assert out.out == "The sky is blue because of Rayleigh scattering.\n"
    assert "ttft" in out.err and "completion 9" in out.err
    assert main(["run", "groq:meta-llama/Llama-3.1-8B-Instruct", "Hi", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "groq:meta-llama/Llama-3.1-8B-Instruct"
    assert data["stats"]["completion_tokens"] == 9


def test_run_failures_are_one_line_and_exit_1(standin: Provider,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _add_groq(standin, monkeypatch, key="sk-wrong-0000")
    capsys.readouterr()
    assert main(["run", "groq:llama-3.1-8b-instant", "The sky is"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "fireside: groq refused the key (401): Invalid API Key"
    assert main(["provider", "models", "groq", "--refresh"]) == 1
    assert main(["provider", "test", "groq"]) == 1
    assert "sk-wrong-0000" not in capsys.readouterr().err
    standin.faults.drop_after = 2
    standin.faults.require_key = False
    assert main(["run", "groq:llama-3.1-8b-instant", "The sky is"]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("The sky") and "marked as cut" in out.err


def test_ls_lists_remote_models_after_local_ones(installed_starter: Path, standin: Provider,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _add_groq(standin, monkeypatch)
    capsys.readouterr()
    assert main(["ls", "--json"]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)]
    assert names[0] == "smollm2-135m-instruct-q4_1"
    assert names[1:] == ["groq:meta-llama/Llama-3.1-8B-Instruct", "groq:llama-3.1-8b-instant",
                         "groq:mistral:7b"]
    assert main(["ls", "--local", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["provider", "disable", "groq"]) == 0
    assert main(["ls"]) == 0
    assert "groq:" not in capsys.readouterr().out


def test_the_console_script_as_a_person_runs_it(standin: Provider, fireside_home: Path) -> None:
    """A real process: key on stdin, answer on stdout, nothing secret in argv."""
    fireside = [sys.executable, "-m", "fireside.core.cli.main"]
    exe = Path(sys.executable).with_name("fireside")
    if exe.exists():
        fireside = [str(exe)]
    add = subprocess.run([*fireside, "provider", "add", "standin", "--base-url",
                          standin.base_url], input=GRANTED_KEY, capture_output=True, text=True,
                         timeout=60, check=False)
    assert add.returncode == 0, add.stderr
    run = subprocess.run([*fireside, "run", "standin:llama-3.1-8b-instant", "The sky is"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("The sky is blue")


def test_names_that_already_mean_something_are_refused(standin: Provider,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["provider", "add", "github", "--base-url", standin.base_url, "--no-key"]) == 2
    assert "already means something" in capsys.readouterr().err
