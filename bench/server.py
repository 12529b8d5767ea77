"""The OpenAI-compatible server vs ``llama-server`` from the same llama.cpp, same run.

Same model, same threads, same context a request may reach (2048), same requests
(``/v1/chat/completions``, greedy, streamed: a chat request without ``max_tokens`` runs until
EOS or a stop string on both servers, where ``/v1/completions`` has OpenAI's default of 16
tokens on Fireside), measured the same way by the same client:
  * single stream: decode tok/s as the client sees it (request to last token), target >= 0.95x
    ``llama-server -np 1``;
  * N concurrent clients (``--clients 4 16``), half of them sending no ``max_tokens`` (they end
    at a stop string, as Open WebUI's or LangChain's requests end at EOS): aggregate tok/s (all
    completion tokens / wall time) against ``llama-server -np 4`` with a unified KV cache
    (target >= 1.0x) and ``-np 1``, and against Fireside's own serial run of the same requests.
    Fireside runs with its defaults (8 slots over one 2048-cell cache; ``--parallel N`` sets
    another count), llama-server with 4 slots over 4 x 2048 cells;
  * the window's time to first token through the Bridge, as the chat pane sends it, while 4 API
    streams without ``max_tokens`` run on the same engine (target < 1 s on 2 cores).
Rounds are interleaved (the order reversed every other rep) so background load hits every server
alike; medians are reported, and for the concurrent rounds also the median of each rep's own
ratio (``_paired``), with the machine's load average.

    .venv/bin/python bench/server.py [--model PATH] [--threads N] [--tokens 128] [--reps 5]
                                     [--parallel N]
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
STARTS = ["Once upon a time, in a small village by the sea,",
          "The history of the printing press begins",
          "Here is a detailed recipe for bread:",
          "In the year 2300, humanity finally",
          "The lighthouse keeper climbed the stairs and",
          "When the first telescope was pointed at the sky,",
          "The mountain railway was built because",
          "Tea first reached Europe when"]
PROMPTS = [STARTS[i % len(STARTS)] + ("" if i < len(STARTS) else " and then")
           for i in range(16)]  # open-ended starts: greedy decoding writes on
STOP = ["\n\n", ". "]  # where requests without max_tokens end (same text on both servers)
SLOTS = 4


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


def start_fireside(model: Path, threads: int, home: str,
                   parallel: int = 0) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "FIRESIDE_HOME": home}
    slots = ["--parallel", str(parallel)] if parallel else []
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--model", str(model),
                             "--port", str(port), "--ctx", str(N_CTX), "--threads",
                             str(threads), *slots], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", proc


def start_llama(model: Path, threads: int, slots: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen([str(LLAMA_SERVER), "-m", str(model), "-t", str(threads),
                             "-tb", str(threads), "-c", str(N_CTX * slots), "-np", str(slots),
                             "-kvu", "-fa", "on", "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", proc


def stream_one(base: str, prompt: str, tokens: int | None) -> dict[str, Any]:
    """One streamed completion: token count and the first/last token times. ``tokens`` None:
    no max_tokens at all, ended by the stop string (and the server's own context limit)."""
    body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}],
                            "temperature": 0, "top_k": 1, "stream": True,
                            "stream_options": {"include_usage": True}}
    if tokens is None:
        body["stop"] = STOP
    else:
        body["max_tokens"] = tokens
    start = time.perf_counter()
    first = last = 0.0
    chunks = 0
    usage = None
    with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=300) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data: {"):
                continue
            data = json.loads(line[6:])
            if data.get("usage"):
                usage = data["usage"]
            if data.get("choices") and (data["choices"][0].get("delta") or {}).get("content"):
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


def workload(tokens: int, clients: int) -> list[tuple[str, int | None]]:
    """Half the clients with ``max_tokens``, half without (odd ones)."""
    return [(PROMPTS[i], None if i % 2 else tokens) for i in range(clients)]


def serial(base: str, tokens: int, clients: int) -> float:
    """The same requests as ``aggregate``, one after another: what "never below serial" means."""
    start = time.perf_counter()
    results = [stream_one(base, p, t) for p, t in workload(tokens, clients)]
    return sum(r["tokens"] for r in results) / (time.perf_counter() - start)


def aggregate(base: str, tokens: int, clients: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda job: stream_one(base, *job), workload(tokens, clients)))
    return sum(r["tokens"] for r in results) / (time.perf_counter() - start)


def window_ttft(model: Path, threads: int, streams: int = 4) -> float:
    """Seconds from the chat pane's send to its first token, through the Bridge as the window
    sends it, while ``streams`` API requests without max_tokens run on the same engine."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: TID251 - GUI bench

    from fireside.core import context
    from fireside.core.inference.types import LoadSettings, SamplingParams
    from fireside.core.server.runner import ServerRunner
    from fireside.core.settings import ServerSettings
    from fireside.gui.bridge import Bridge

    app = QCoreApplication.instance() or QCoreApplication([])
    os.environ["FIRESIDE_HOME"] = tempfile.mkdtemp(prefix="fireside-bench-ttft-")
    ctx = context.build()
    ctx.share_with_window()  # as the window's process runs it
    # 4 slots, all taken by the API streams: the chat must make one of them pause (with the
    # default 8 it would simply join the batch)
    ctx.engine.load(model, LoadSettings(n_ctx=N_CTX * SLOTS, parallel=SLOTS,
                                        n_threads=threads), name="bench")
    runner = ServerRunner(ctx.engine, ServerSettings(port=0))
    runner.start()
    base = runner.base_url.removesuffix("/v1")
    busy = ThreadPoolExecutor(streams)
    jobs = [busy.submit(stream_one, base, f"{i}. Tell a very long story.", None)
            for i in range(streams)]
    bridge = Bridge(ctx)
    try:
        time.sleep(1.5)  # the API streams are decoding
        first: list[float] = []
        bridge.token_ready.connect(lambda _rid, _t: first.append(time.perf_counter()))
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: loop.quit() if first else None)
        poll.start(5)
        sent = time.perf_counter()
        req = bridge.chat([{"role": "user", "content": "Say hello."}],
                          SamplingParams(max_tokens=8, temperature=0.0))
        QTimer.singleShot(60_000, loop.quit)
        loop.exec()
        bridge.stop(req)
        return (first[0] - sent) if first else float("inf")
    finally:
        runner.stop(timeout=10)  # ends the API streams too
        for job in jobs:
            job.exception()
        busy.shutdown()
        bridge.shutdown()
        ctx.engine.unload()
        del app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--parallel", type=int, default=0,
                        help="Fireside's slots (default: its own choice, 8 for this model)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from fireside.core.inference.engine import default_threads

    threads = args.threads or default_threads()
    if not LLAMA_SERVER.exists():
        raise SystemExit(f"{LLAMA_SERVER} missing: run bench/build_llama_tools.sh")
    home = tempfile.mkdtemp(prefix="fireside-bench-")
    servers = {"fireside": start_fireside(args.model, threads, home, args.parallel),
               "llama -np 1": start_llama(args.model, threads, 1),
               f"llama -np {SLOTS}": start_llama(args.model, threads, SLOTS)}
    one: dict[str, list[float]] = {k: [] for k in ("fireside", "llama -np 1")}
    agg: dict[str, list[float]] = {f"{k} x{n}": [] for n in args.clients for k in servers}
    serial_runs: dict[int, list[float]] = {n: [] for n in args.clients}
    try:
        for base, proc in servers.values():
            wait_ready(base, proc)
        for base, _ in servers.values():  # warm-up: page the weights in, build the caches
            stream_one(base, PROMPTS[0], 16)
        for rep in range(args.reps):
            # each rep reverses the order, so a drift in the machine's speed (this 2-core VM
            # swings +-15% between back-to-back runs of one server) favours no server
            flip = rep % 2 == 1
            for name, runs in (reversed(one.items()) if flip else one.items()):
                runs.append(single(servers[name][0], args.tokens))
            for n in args.clients:
                serial_runs[n].append(serial(servers["fireside"][0], args.tokens, n))
                for name, (base, _) in (reversed(servers.items()) if flip else servers.items()):
                    agg[f"{name} x{n}"].append(aggregate(base, args.tokens, n))
    finally:
        for _, proc in servers.values():
            proc.terminate()
        for _, proc in servers.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    ttft = window_ttft(args.model, threads)
    med = {f"single {k}": statistics.median(v) for k, v in one.items()}
    med.update({f"serial x{n} fireside": statistics.median(v) for n, v in serial_runs.items()})
    med.update({f"aggregate {k}": statistics.median(v) for k, v in agg.items()})
    ratios = {"single_stream_vs_llama_np1": med["single fireside"] / med["single llama -np 1"]}
    for n in args.clients:
        ours = med[f"aggregate fireside x{n}"]
        peer = med[f"aggregate llama -np {SLOTS} x{n}"]
        ratios[f"aggregate_x{n}_vs_llama_np{SLOTS}"] = ours / peer
        # the same rep's runs side by side, then the median: drift between reps cancels
        ratios[f"aggregate_x{n}_vs_llama_np{SLOTS}_paired"] = statistics.median(
            a / b for a, b in zip(agg[f"fireside x{n}"], agg[f"llama -np {SLOTS} x{n}"],
                                  strict=True))
        ratios[f"aggregate_x{n}_vs_llama_np1"] = ours / med[f"aggregate llama -np 1 x{n}"]
        ratios[f"aggregate_x{n}_vs_own_serial"] = ours / med[f"serial x{n} fireside"]
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"threads": threads, "tokens": args.tokens, "reps": args.reps,
                          "tok_per_s": med, "ratios": ratios, "window_ttft_s": ttft,
                          "load_average": load}, indent=2))
        return 0
    print(f"model {args.model.name} · threads {threads} · {args.tokens} tokens (half the clients "
          f"without max_tokens) · {args.reps} interleaved reps (medians) · load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name, value in med.items():
        print(f"  {name:<34} {value:8.1f} tok/s")
    for name, value in ratios.items():
        print(f"  {name:<34} {value:8.3f}x")
    print(f"  window TTFT with 4 API streams     {ttft * 1000:8.0f} ms (target < 1000 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
