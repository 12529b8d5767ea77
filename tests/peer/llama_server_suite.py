"""Run llama.cpp's own server test suite against a running ``fireside serve``.

The suite lives in the pinned llama-cpp-python sdist (``vendor/llama.cpp/tools/server/tests``);
its ``utils.py`` honours ``DEBUG_EXTERNAL=1`` and ``PORT`` to test a server that is already up.
The sdist is fetched from the package registry once and kept in ``~/.cache/fireside-dev``.
Tests that fail for a stated reason are listed in ``expected_failures.py``; any other failure
makes this script exit 1.

    .venv/bin/python -m tests.peer.llama_server_suite [--all] [test_chat_completion.py …]

CI runs only the tests expected to pass (and fails on any failure); ``--all`` runs every test,
so the per-file counts are the whole suite's and a listed test that now passes is named.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import httpx

from .expected_failures import EXPECTED

log = logging.getLogger("fireside.peer")
VERSION = "0.3.36"  # the llama-cpp-python that pyproject pins
CACHE = Path(os.environ.get("FIRESIDE_DEV_CACHE", Path.home() / ".cache" / "fireside-dev"))
FILES = ("test_chat_completion.py", "test_completion.py", "test_embedding.py",
         "test_tool_call.py", "test_tokenize.py", "test_compat_oai_responses.py",
         "test_compat_anthropic.py", "test_security.py")
INNER = "vendor/llama.cpp/tools/server/tests"
# Tests that need a vision model, run against a second server (the synthetic vision model,
# --media-path holding the suite's test image): the image-reading cases of the local-media test
VISION = "test_security.py::test_local_media_file[../../../tools"


def _sdist() -> Path:
    sdist = CACHE / "sdist" / f"llama_cpp_python-{VERSION}.tar.gz"
    if not sdist.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", f"llama-cpp-python=={VERSION}",
                        "-d", str(sdist.parent)], check=True)
    return sdist


def _unpacked(root: Path, inner: str) -> Path:
    """``inner`` (a folder of the sdist's llama.cpp) unpacked to ``root`` once."""
    if root.is_dir():
        return root
    prefix = f"llama_cpp_python-{VERSION}/{inner}/"
    staging = Path(tempfile.mkdtemp(dir=CACHE))
    with tarfile.open(_sdist()) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        tar.extractall(staging, members=members, filter="data")
    root.parent.mkdir(parents=True, exist_ok=True)
    (staging / prefix).rename(root)
    shutil.rmtree(staging, ignore_errors=True)
    return root


def suite_dir() -> Path:
    """The suite's folder, unpacked from the sdist (downloaded once) into the dev cache."""
    return _unpacked(CACHE / f"llama-server-tests-{VERSION}", INNER)


def media_dir() -> Path:
    """The folder the vision server's --media-path names: it holds ``mtmd/test-1.jpeg``, the
    file the suite's local-media test asks for (llama.cpp's tools folder, trimmed)."""
    root = CACHE / f"llama-server-media-{VERSION}"
    _unpacked(root / "mtmd", "vendor/llama.cpp/tools/mtmd")
    return root


def vision_model(folder: Path) -> Path:
    """The synthetic vision model (tests/hardware/vision.py) with its projector beside it."""
    tests_dir = str(Path(__file__).resolve().parents[1])
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from hardware.vision import write_vision_pair

    return write_vision_pair(folder)[0]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: Path, home: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "FIRESIDE_HOME": str(home)}
    # --max-tokens 64: the suite's preset servers run with -n 64 (n_predict); --any-model:
    # its requests name models such as "test" or "gpt-4.1" that llama-server ignores
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--model", str(model),
                             "--port", str(port), "--max-tokens", "64", "--any-model", *extra],
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=open(home / "serve.log", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fireside serve exited: {(home / 'serve.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json().get("loaded"):
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("fireside serve did not come up within 120 s")


def _base(name: str) -> str:
    return name.split("[", 1)[0]


def listed(name: str) -> bool:
    """On the list as the whole test or as this one parametrisation."""
    return name in EXPECTED or _base(name) in EXPECTED


def _nodeids(files: tuple[str, ...], env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only",
                          "-p", "no:cacheprovider", "-o", "addopts=",
                          *(f"unit/{f}" for f in files)], cwd=suite_dir(), env=env,
                         capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.startswith("unit/") and "::" in line]


def run_suite(port: int, files: tuple[str, ...], report: Path, *,
              everything: bool = False, vision: bool = False) -> dict[str, str]:
    """Each test's outcome ("passed", "failed" or "skipped"). Unless ``everything``, the
    listed failures are not run: CI spends its time on what must pass. ``vision``: only the
    tests that need the vision server (VISION), else all but those."""
    env = {**os.environ, "DEBUG_EXTERNAL": "1", "PORT": str(port)}
    targets = [n for n in _nodeids(files, env)
               if n.removeprefix("unit/").startswith(VISION) == vision
               and (everything or not listed(n.removeprefix("unit/")))]
    if not targets:
        return {}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-o", "addopts=", "-o", "timeout=120", f"--junitxml={report}", *targets],
                   cwd=suite_dir(), env=env, stdout=subprocess.DEVNULL, check=False)
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcomes[name] = ("failed" if kinds & {"failure", "error"} else
                          "skipped" if "skipped" in kinds else "passed")
    return outcomes


def unexpected(outcomes: dict[str, str]) -> list[str]:
    """Failures of tests that are not on the expected list."""
    return [name for name, result in outcomes.items() if result == "failed" and not listed(name)]


def stale(outcomes: dict[str, str]) -> list[str]:
    """Listed tests none of whose runs failed (take them off the list)."""
    ran = {*outcomes, *map(_base, outcomes)}
    failed = {n for n, r in outcomes.items() if r == "failed"}
    failed |= set(map(_base, failed))
    return sorted(key for key in EXPECTED if key in ran and key not in failed)


def summary(outcomes: dict[str, str]) -> str:
    per_file: dict[str, Counter[str]] = {}
    for name, result in outcomes.items():
        per_file.setdefault(name.split("::")[0], Counter())[result] += 1
    rows = [f"{file:34} passed {c['passed']:3}  failed {c['failed']:3}  skipped {c['skipped']:3}"
            for file, c in sorted(per_file.items())]
    total = Counter(outcomes.values())
    rows.append(f"{'total':34} passed {total['passed']:3}  failed {total['failed']:3}  "
                f"skipped {total['skipped']:3}")
    return "\n".join(rows)


def run_both(model: Path, files: tuple[str, ...], *, everything: bool = False
             ) -> dict[str, str]:
    """The suite against a server on ``model``, then its vision tests against the vision
    server: every test's outcome."""
    outcomes: dict[str, str] = {}
    for vision in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            served, extra = model, ()
            if vision:
                if not any(VISION.startswith(f) for f in files):
                    continue
                served = vision_model(home / "vision")
                extra = ("--media-path", str(media_dir()))
            proc, port = start_server(served, home, *extra)
            try:
                outcomes |= run_suite(port, files, home / "report.xml", everything=everything,
                                      vision=vision)
            finally:
                proc.terminate()
                proc.wait(30)
    return outcomes


def main(argv: list[str]) -> int:
    """``--all`` also runs the listed failures and names stale entries."""
    from fireside.core.models import starter

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    everything = "--all" in argv
    files = tuple(a for a in argv if a != "--all") or FILES
    model = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                                CACHE / "starter")) / starter.FILENAME
    outcomes = run_both(model, files, everything=everything)
    log.info("%s", summary(outcomes))
    bad = unexpected(outcomes)
    for name in bad:
        log.info("UNEXPECTED FAILURE %s", name)
    for key in stale(outcomes) if everything else []:
        log.info("LISTED BUT PASSED %s", key)
    classes = Counter(reason.split(":", 1)[0] for reason in EXPECTED.values())
    log.info("tests on the expected-failure list: %s", dict(classes))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
