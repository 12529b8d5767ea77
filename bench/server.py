"""The OpenAI-compatible server vs ``llama-server`` from the same llama.cpp, same run.

Same model, same threads, same context per slot, same requests (``/v1/completions``, greedy,
streamed), measured the same way by the same client:
  * single stream: decode tok/s as the client sees it (first token to last), target >= 0.95x
    ``llama-server -np 1``;
  * 4 concurrent clients: aggregate tok/s (all completion tokens / wall time) against
    ``llama-server -np 1`` (target >= 1.0x: fair queueing costs nothing) and ``-np 4``
    (batched decoding; Fireside serves one request at a time, so this shows the headroom).
Rounds are interleaved so background load hits every server alike; medians are reported.

    .venv/bin/python bench/server.py [--model PATH] [--threads N] [--tokens 128] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

CACHE = Path(os.environ.get("FIRESIDE_DEV_CACHE", Path.home() / ".cache" / "fireside-dev"))
DEFAULT_MODEL = CACHE / "starter" / "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_SERVER = CACHE / "llama-tools-0.3.36" / "bin" / "llama-server"
N_CTX = 2048
PROMPTS = ["Once upon a time, in a small village by the sea,",
           "The history of the printing press begins",
           "Here is a detailed recipe for bread:",
           "In the year 2300, humanity finally"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}): {proc.args}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"server at {base} did not become ready")


def start_fireside(model: Path, threads: int, home: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "FIRESIDE_HOME": home}
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--model", str(model),
                             "--port", str(port), "--ctx", str(N_CTX), "--threads",
                             str(threads)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", proc


def start_llama(model: Path, threads: int, slots: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen([str(LLAMA_SERVER), "-m", str(model), "-t", str(threads),
                             "-tb", str(threads), "-c", str(N_CTX * slots), "-np", str(slots),
                             "-fa", "on", "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", proc


def stream_one(base: str, prompt: str, tokens: int) -> dict[str, Any]:
    """One streamed completion: token count and the first/last token times."""
    body = {"prompt": prompt, "max_tokens": tokens, "temperature": 0,
            "top_k": 1, "stream": True, "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    first = last = 0.0
    chunks = 0
    usage = None
    with httpx.stream("POST", base + "/v1/completions", json=body, timeout=300) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data: {"):
                continue
            data = json.loads(line[6:])
            if data.get("usage"):
                usage = data["usage"]
            if data.get("choices") and data["choices"][0].get("text"):
                now = time.perf_counter()
                first = first or now
                last = now
                chunks += 1
    n = usage["completion_tokens"] if usage else chunks
    return {"tokens": n, "start": start, "first": first, "last": last, "chunks": chunks}


def single(base: str, tokens: int) -> float:
    """Request to last token, so chunking (one token or several per event) can't skew it."""
    r = stream_one(base, PROMPTS[0], tokens)
    return float(r["tokens"]) / (r["last"] - r["start"])


def serial(base: str, tokens: int, clients: int) -> float:
    """The same requests as ``aggregate``, one after another: what "never below serial" means."""
    start = time.perf_counter()
    results = [stream_one(base, p, tokens) for p in PROMPTS[:clients]]
    return sum(r["tokens"] for r in results) / (time.perf_counter() - start)


def aggregate(base: str, tokens: int, clients: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda p: stream_one(base, p, tokens), PROMPTS[:clients]))
    return sum(r["tokens"] for r in results) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from fireside.core.inference.engine import default_threads

    threads = args.threads or default_threads()
    if not LLAMA_SERVER.exists():
        raise SystemExit(f"{LLAMA_SERVER} missing: run bench/build_llama_tools.sh")
    home = tempfile.mkdtemp(prefix="fireside-bench-")
    servers = {"fireside": start_fireside(args.model, threads, home),
               "llama -np 1": start_llama(args.model, threads, 1),
               f"llama -np {args.clients}": start_llama(args.model, threads, args.clients)}
    try:
        for base, proc in servers.values():
            wait_ready(base, proc)
        for base, _ in servers.values():  # warm-up: page the weights in, build the caches
            stream_one(base, PROMPTS[0], 16)
        one: dict[str, list[float]] = {k: [] for k in ("fireside", "llama -np 1")}
        agg: dict[str, list[float]] = {k: [] for k in servers}
        serial_runs: list[float] = []
        for _ in range(args.reps):
            for name, runs in one.items():
                runs.append(single(servers[name][0], args.tokens))
            serial_runs.append(serial(servers["fireside"][0], args.tokens, args.clients))
            for name, (base, _) in servers.items():
                agg[name].append(aggregate(base, args.tokens, args.clients))
    finally:
        for _, proc in servers.values():
            proc.terminate()
        for _, proc in servers.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    med = {f"single {k}": statistics.median(v) for k, v in one.items()}
    med[f"serial x{args.clients} fireside"] = statistics.median(serial_runs)
    med.update({f"aggregate x{args.clients} {k}": statistics.median(v) for k, v in agg.items()})
    np_n = f"llama -np {args.clients}"
    ratios = {
        "single_stream_vs_llama_np1": med["single fireside"] / med["single llama -np 1"],
        f"aggregate_x{args.clients}_vs_llama_np1":
            med[f"aggregate x{args.clients} fireside"]
            / med[f"aggregate x{args.clients} llama -np 1"],
        f"aggregate_x{args.clients}_vs_llama_np{args.clients}":
            med[f"aggregate x{args.clients} fireside"] / med[f"aggregate x{args.clients} {np_n}"],
        f"aggregate_x{args.clients}_vs_own_serial":
            med[f"aggregate x{args.clients} fireside"]
            / med[f"serial x{args.clients} fireside"],
    }
    if args.json:
        print(json.dumps({"threads": threads, "tokens": args.tokens, "reps": args.reps,
                          "tok_per_s": med, "ratios": ratios}, indent=2))
        return 0
    print(f"model {args.model.name} · threads {threads} · {args.tokens} tokens · "
          f"{args.reps} interleaved reps (medians)")
    for name, value in med.items():
        print(f"  {name:<32} {value:8.1f} tok/s")
    for name, value in ratios.items():
        print(f"  {name:<32} {value:8.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
