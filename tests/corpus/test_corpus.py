"""Malformed GGUF files never take Fireside down: a few hundred of them through `fireside run`.

Every file goes through the CLI's entry point as `fireside run FILE hi`: two driver processes
(``drive.py``) take half the corpus each and call it once per file, so Python and llama.cpp
start once per driver rather than once per file (the preflight child still starts per file:
that is the point). Each run must end (no hang), without killing its process (no signal),
with status 0, 1 or 2, and without a Python traceback; a refusal (status 2) is one line, and
an expected one (a FiresideError, not the CLI's "unexpected error" line).
``FIRESIDE_CORPUS_LIMIT=N`` runs an even sample of N files for a quick look; CI runs them all.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corpus.generate import generate, write_model
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings, SamplingParams

log = logging.getLogger("fireside.tests.corpus")
PER_FILE_TIMEOUT_S = 120  # the preflight child's own limit is 60 s
PARALLEL = 2
DRIVER = Path(__file__).with_name("drive.py")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    files = generate(tmp_path_factory.mktemp("corpus"))
    limit = int(os.environ.get("FIRESIDE_CORPUS_LIMIT", "0") or 0)
    if limit and limit < len(files):
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def test_the_base_model_is_a_real_model(tmp_path: Path) -> None:
    """The corpus mutates a model that loads and answers, so each mutation is the cause."""
    engine = Engine()
    try:
        engine.load(write_model(tmp_path / "base.gguf"), LoadSettings(n_ctx=256))
        out = engine.chat([{"role": "user", "content": "hi"}], SamplingParams(max_tokens=4))
        assert out.stats.completion_tokens >= 1
    finally:
        engine.unload()


def _drive(files: list[Path], first: int, out: Path, home: Path) -> dict[int, object]:
    """Exit status per file index, or "hang" / a negative signal number; files after one that
    killed its driver go to a fresh driver."""
    results: dict[int, object] = {}
    env = {**os.environ, "FIRESIDE_HOME": str(home)}
    todo = list(range(len(files)))
    while todo:
        cmd = [sys.executable, str(DRIVER), str(out), str(PER_FILE_TIMEOUT_S),
               str(first + todo[0]), *(str(files[i]) for i in todo)]
        start = first + todo[0]
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env, check=False).returncode
        current: int | None = None
        for line in (out / f"progress-{start}.log").read_text().splitlines():
            kind, index, *rest = line.split()
            if kind == "start":
                current = int(index)
            elif kind == "end":
                results[int(index)] = int(rest[0])
                current = None
            elif kind == "hang":
                results[int(index)] = "hang"
        if current is not None and current not in results:
            results[current] = rc if rc < 0 else f"driver exit {rc}"
        todo = [i for i in todo if first + i not in results]
    return results


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_malformed_file_crashes_hangs_or_shows_a_traceback(
        corpus: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "stderr"
    out.mkdir()
    started = time.monotonic()
    shares = [(corpus[k::PARALLEL], k) for k in range(PARALLEL)]  # interleaved: fair shares
    with ThreadPoolExecutor(PARALLEL) as pool:
        parts = list(pool.map(
            lambda share: _drive(share[0], share[1] * 10_000, out, tmp_path / "home"), shares))
    elapsed = time.monotonic() - started
    results = []
    for (files, k), part in zip(shares, parts, strict=True):
        for i, path in enumerate(files):
            index = k * 10_000 + i
            err_file = out / f"{index}.err"
            err = err_file.read_text(errors="replace") if err_file.exists() else ""
            results.append({"file": path.name, "rc": part.get(index, "not run"), "stderr": err})
    codes = Counter(str(r["rc"]) for r in results)
    (tmp_path / "results.json").write_text(json.dumps(results, indent=1))
    log.warning("corpus: %d files in %.0f s, exit codes %s", len(results), elapsed,
                dict(codes))
    problems = []
    for r in results:
        rc, err = r["rc"], str(r["stderr"])
        if rc == "hang":
            problems.append(f"{r['file']}: no answer in {PER_FILE_TIMEOUT_S} s")
        elif not isinstance(rc, int):
            problems.append(f"{r['file']}: {rc}")
        elif rc < 0:
            problems.append(f"{r['file']}: killed by signal {-rc}")
        elif rc not in (0, 1, 2):
            problems.append(f"{r['file']}: exit status {rc}")
        elif "Traceback" in err:
            problems.append(f"{r['file']}: traceback on stderr: {err[-300:]}")
        elif "the traceback is in" in err:  # the CLI's line for an error it did not expect
            problems.append(f"{r['file']}: not a FiresideError: {err.strip()[:300]}")
        elif rc == 2 and len(err.strip().splitlines()) != 1:
            problems.append(f"{r['file']}: a refusal of more than one line: {err[-300:]}")
    assert not problems, f"{len(problems)} of {len(results)} files:\n" + "\n".join(problems)
    assert codes["0"] >= 1 and codes["2"] >= len(results) // 2  # both answers and refusals
