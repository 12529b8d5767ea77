"""The gateway's cost: a remote model through Fireside's server vs straight to the remote.

The remote is a local ``fireside serve`` with the starter model (its own home); a second
``fireside serve`` (another home, no model) has it as provider ``remote`` and forwards
``remote:MODEL``. The same greedy streamed chat request goes both ways, rounds interleaved (the
order alternating) so background load hits both alike; medians are reported with the machine's
load average. Targets: <= 5 ms added time to first token, >= 0.98x tokens per second.

    .venv/bin/python bench/remote.py [--model PATH] [--reps 15] [--tokens 64] [--threads N]
    .venv/bin/python bench/remote.py --standin 0.01   # a model-free remote: the hop's cost alone
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from server import DEFAULT_MODEL, free_port, wait_ready  # noqa: E402

PROMPT = "Write a short story about a lighthouse keeper and the sea."


def serve(home: str, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fireside", "serve", "--port", str(port),
                             *args], env={**os.environ, "FIRESIDE_HOME": home},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, proc)
    return base + "/v1", proc


def one(client: httpx.Client, base: str, model: str, tokens: int) -> tuple[float, float, int]:
    """TTFT (s), decode tok/s (first to last token, as the client sees them), tokens."""
    body = {"model": model, "stream": True, "max_tokens": tokens, "temperature": 0, "seed": 1,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": PROMPT}]}
    started = time.perf_counter()
    first = last = 0.0
    count = 0
    with client.stream("POST", base + "/chat/completions", json=body) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                count = int(chunk["usage"]["completion_tokens"])
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    last = time.perf_counter()
                    first = first or last
    return first - started, (count - 1) / (last - first) if last > first else 0.0, count


def standin(tokens: int, delay: float) -> tuple[str, subprocess.Popen[bytes]]:
    """The loopback stand-in provider: a steady, model-free stream (the hop's cost alone)."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parents[1] / "tests" /
                                                 "remote_provider.py"), "--no-key", "--tokens",
                             str(tokens), "--token-delay", str(delay)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("READY "):
        raise SystemExit(f"the stand-in did not start: {line!r}")
    return line.split(" ", 1)[1], proc  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--standin", type=float, default=None, metavar="SECONDS",
                        help="use the model-free stand-in provider (tests/remote_provider.py) "
                             "streaming a piece every SECONDS, instead of a fireside serve")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still stops both servers
    with tempfile.TemporaryDirectory() as remote_home, \
            tempfile.TemporaryDirectory() as gateway_home:
        extra = ["--threads", str(args.threads)] if args.threads else []
        if args.standin is not None:
            remote, p1 = standin(args.tokens, args.standin)
        else:
            remote, p1 = serve(remote_home, "--model", str(args.model), "--ctx", "2048", *extra)
        subprocess.run([sys.executable, "-m", "fireside", "provider", "add", "remote",
                        "--base-url", remote, "--no-key"], check=True,
                       env={**os.environ, "FIRESIDE_HOME": gateway_home},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway, p2 = serve(gateway_home)
        try:
            with httpx.Client(timeout=120) as client:
                name = client.get(remote + "/models").json()["data"][0]["id"]
                ways = {"direct": (remote, name), "gateway": (gateway, f"remote:{name}")}
                for base, model in ways.values():  # warm both (connections, caches)
                    one(client, base, model, args.tokens)
                results: dict[str, list[tuple[float, float, int]]] = {w: [] for w in ways}
                for rep in range(args.reps):
                    order = list(ways) if rep % 2 == 0 else list(reversed(ways))
                    for way in order:
                        results[way].append(one(client, *ways[way], args.tokens))
                    d, g = results["direct"][-1], results["gateway"][-1]
                    print(f"rep {rep + 1}: direct ttft {d[0] * 1000:.1f} ms {d[1]:.1f} tok/s · "
                          f"gateway ttft {g[0] * 1000:.1f} ms {g[1]:.1f} tok/s", flush=True,
                          file=sys.stderr)
        finally:
            for proc in (p2, p1):
                proc.terminate()
                proc.wait(timeout=30)
    med = {w: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
               statistics.median(r[2] for r in rs)) for w, rs in results.items()}
    paired = statistics.median(g[0] - d[0] for g, d in zip(results["gateway"],
                                                             results["direct"], strict=True))
    load = os.getloadavg()
    source = f"stand-in, a piece every {args.standin * 1000:g} ms" \
        if args.standin is not None else f"model {args.model.name}"
    print(f"{source} · {args.reps} interleaved reps · {args.tokens} tokens · "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · {os.cpu_count()} CPUs")
    for way, (ttft, tps, n) in med.items():
        print(f"  {way:<8} ttft {ttft * 1000:7.1f} ms   decode {tps:7.1f} tok/s   ({n:.0f} tok)")
    added = (med["gateway"][0] - med["direct"][0]) * 1000
    ratio = med["gateway"][1] / med["direct"][1] if med["direct"][1] else 0.0
    print(f"added TTFT {added:+.1f} ms (median of paired differences {paired * 1000:+.1f} ms; "
          f"target <= 5) · tok/s ratio {ratio:.3f}x (target >= 0.98)")


if __name__ == "__main__":
    main()
