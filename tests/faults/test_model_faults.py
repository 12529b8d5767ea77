"""Files that used to kill the whole process are refused with one line; the process lives.

Each case first shows the fault is real (``Llama()`` on the file, in a throwaway process, dies
of SIGABRT or hangs), then that Fireside refuses the same file from the engine, the CLI and a
second load (the cached verdict), and still serves a good model afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus.generate import CHATML, Missing, V, base_vocab, write_model

from fireside.core.errors import BadModelFileError, TemplateError
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings, SamplingParams
from fireside.core.models import preflight

HI = [{"role": "user", "content": "hi"}]
N_VOCAB = len(base_vocab()[0])
# name -> kv overrides: each one aborts llama.cpp somewhere between load and first token
ABORTS = {
    "empty-token-strings": {"tokenizer.ggml.tokens": [""] * N_VOCAB},
    "duplicate-tokens": {"tokenizer.ggml.tokens": ["<s>"] * N_VOCAB},
    "zero-layers": {"llama.block_count": 0},
    "nan-norm-epsilon": {"llama.attention.layer_norm_rms_epsilon": float("nan")},
    # the issue's "vector::_M_range_check: __n (which is ...) >= this->size()": the engine asks
    # for the text of the header's eos id to render the template
    "eos-past-vocab": {"tokenizer.ggml.eos_token_id": (1 << 20, V.UINT32, None)},
}


def _bare_llama(path: Path) -> int:
    """What the file does without the check: the exit status of a child that loads it, reads
    one token and asks for the header's eos token text as the engine did (negative: killed
    by that signal)."""
    code = ("import sys\nfrom llama_cpp import Llama\n"
            "from fireside.core.models.meta import read_meta\n"
            "llm = Llama(sys.argv[1], n_ctx=64, verbose=False)\n"
            "llm.create_completion('hi', max_tokens=1)\n"
            "llm._model.token_get_text(read_meta(__import__('pathlib').Path(sys.argv[1]))"
            ".eos_token_id)\n")
    env = {**os.environ, "GGML_NO_BACKTRACE": "1"}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          env=env, timeout=120, check=False)
    return proc.returncode


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fireside", *args], capture_output=True,
                          text=True, env={**os.environ, "FIRESIDE_HOME": str(home)},
                          timeout=180, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def good_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine()


@pytest.mark.parametrize("case", sorted(ABORTS))
def test_a_file_that_aborts_llama_cpp_is_refused_and_the_process_lives(
        case: str, tmp_path: Path, good_engine: Engine) -> None:
    bad = write_model(tmp_path / f"{case}.gguf", kv=ABORTS[case])
    assert _bare_llama(bad) == -signal.SIGABRT  # the fault is real: it kills its process

    with pytest.raises(preflight.PreflightError) as caught:
        good_engine.load(bad, LoadSettings(n_ctx=256))
    message = str(caught.value)
    assert message.startswith(f"{bad.name}: ") and "\n" not in message
    assert good_engine.loaded is None

    # this process is alive and the engine still works
    good = write_model(tmp_path / "good.gguf")
    good_engine.load(good, LoadSettings(n_ctx=256))
    assert good_engine.chat(HI, SamplingParams(max_tokens=2)).stats.completion_tokens >= 1
    good_engine.unload()


def test_the_cli_refuses_with_one_line_and_status_2(tmp_path: Path) -> None:
    bad = write_model(tmp_path / "bad.gguf", kv=ABORTS["duplicate-tokens"])
    proc = _cli("run", str(bad), "hi", "--max-tokens", "2", "--ctx", "256", home=tmp_path / "h")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fireside: bad.gguf: llama.cpp crashed")
    assert "SIGABRT" in lines[0] and "Traceback" not in proc.stderr


def test_a_template_that_does_not_parse_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Before: jinja2's TemplateSyntaxError escaped from ``Llama()`` as a traceback."""
    bad = write_model(tmp_path / "tpl.gguf", template="{% for %}")
    proc = _cli("run", str(bad), "hi", "--max-tokens", "2", "--ctx", "256", home=tmp_path / "h")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("fireside: tpl.gguf: chat template has a syntax error: "
                                   "Expected an expression, got 'end of statement block'")


def test_a_hostile_template_is_stopped_and_the_engine_goes_on(tmp_path: Path) -> None:
    """A template that parses but never ends (or folds to 10 GB when compiled the way
    llama-cpp-python compiles it) loads, is stopped at the first render, and the same
    engine answers the next request."""
    engine = Engine()
    try:
        for name, text in (("spin", "{% for i in range(100000) %}{% for j in range(100000) %}"
                                    "{% endfor %}{% endfor %}"),
                           ("fold", "{{ 'x' * 10**10 }}")):
            path = write_model(tmp_path / f"{name}.gguf", template=text)
            engine.load(path, LoadSettings(n_ctx=256))
            started = time.monotonic()
            with pytest.raises(TemplateError, match="budget"):
                engine.chat(HI, SamplingParams(max_tokens=2))
            assert time.monotonic() - started < 60
            raw = engine.complete("hi", SamplingParams(max_tokens=2))  # no template: still fine
            assert raw.stats.completion_tokens >= 1
    finally:
        engine.unload()


def test_the_verdict_is_cached_per_file_version(tmp_path: Path) -> None:
    good = write_model(tmp_path / "good.gguf")
    assert preflight.cached_verdict(good) is None
    preflight.check(good)
    verdict = preflight.cached_verdict(good)
    assert verdict is not None and verdict["ok"] is True
    # the cache is what answers now: a forged "bad" verdict for this version is believed ...
    cache = preflight._cache_file()
    cache.write_text(cache.read_text().replace('"ok": true', '"ok": false'))
    with pytest.raises(preflight.PreflightError):
        preflight.check(good)
    # ... and a new version of the file (another mtime) is checked afresh
    stat = good.stat()
    os.utime(good, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert preflight.cached_verdict(good) is None
    preflight.check(good)


def test_a_child_that_runs_out_of_time_refuses_but_is_not_remembered(tmp_path: Path) -> None:
    good = write_model(tmp_path / "slow.gguf")
    with pytest.raises(preflight.PreflightError, match="did not finish"):
        preflight.check(good, timeout=0.001)
    assert preflight.cached_verdict(good) is None  # a busy machine is not the file's fault
    preflight.check(good)


def test_a_corrupt_cache_costs_only_a_recheck(tmp_path: Path) -> None:
    good = write_model(tmp_path / "good.gguf")
    cache = preflight._cache_file()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("{not json")
    preflight.check(good)
    assert preflight.cached_verdict(good) is not None


def test_bad_token_ids_and_types_are_refused_or_loaded_never_fatal(tmp_path: Path) -> None:
    """Ids past the vocabulary and types of the wrong width: a clear refusal or a load."""
    engine = Engine()
    cases = {
        "eos-past-vocab": {"tokenizer.ggml.eos_token_id": (1 << 20, V.UINT32, None)},
        "types-uint8": {"tokenizer.ggml.token_type": ([1] * N_VOCAB, V.ARRAY, V.UINT8)},
        "types-99": {"tokenizer.ggml.token_type": [99] * N_VOCAB},
        "types-short": {"tokenizer.ggml.token_type": [1] * 10},
    }
    try:
        for name, kv in cases.items():
            path = write_model(tmp_path / f"{name}.gguf", kv=kv, template=CHATML)
            try:
                engine.load(path, LoadSettings(n_ctx=256))
            except BadModelFileError as exc:
                assert "\n" not in str(exc)
                continue
            engine.chat(HI, SamplingParams(max_tokens=2))
            engine.unload()
    finally:
        engine.unload()


def test_an_import_keeps_a_crashing_file_out_of_the_library(tmp_path: Path) -> None:
    from fireside.core import context

    ctx = context.build()
    bad = write_model(tmp_path / "crasher.gguf", kv=ABORTS["zero-layers"])
    with pytest.raises(preflight.PreflightError, match="crashed"):
        ctx.library.import_file(bad)
    assert not list(ctx.library.models_dir.rglob("*.gguf"))  # nothing copied
    assert [m.name for m in ctx.library.list()] == []
    # a file llama.cpp merely cannot load (no vocabulary) is imported as before; the load
    # is what refuses it, with llama.cpp's reason
    no_vocab = write_model(tmp_path / "novocab.gguf", kv={"tokenizer.ggml.tokens": Missing})
    model = ctx.library.import_file(no_vocab)
    assert model.name == "novocab"
    with pytest.raises(preflight.PreflightError, match="cannot read its vocabulary"):
        Engine().load(model.path, LoadSettings(n_ctx=256))


def test_an_implausible_layer_count_is_refused_before_memory_is_spent(tmp_path: Path) -> None:
    """Before: reading the header built a per-layer list of 2**31 entries (16 GB): the OOM
    killer's SIGKILL, before llama.cpp was even called."""
    bad = write_model(tmp_path / "layers.gguf", kv={"llama.block_count": 2**31})
    with pytest.raises(BadModelFileError, match="block_count 2147483648 is implausible"):
        Engine().load(bad, LoadSettings(n_ctx=256))


def test_the_api_answers_a_hostile_template_with_a_400_and_goes_on(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from fireside.core.server.app import create_app

    engine = Engine()
    spin = write_model(tmp_path / "spin.gguf", template="{% for i in range(100000) %}"
                       "{% for j in range(100000) %}{% endfor %}{% endfor %}")
    engine.load(spin, LoadSettings(n_ctx=256), name="spin")
    try:
        client = TestClient(create_app(engine), base_url="http://127.0.0.1:8080")
        r = client.post("/v1/chat/completions", json={"model": "spin", "messages": HI,
                                                      "max_tokens": 2})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "template_error"
        assert "budget" in r.json()["error"]["message"]
        r = client.post("/v1/completions", json={"model": "spin", "prompt": "hi",
                                                 "max_tokens": 2})
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] >= 1
    finally:
        engine.unload()
