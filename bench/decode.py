"""Prefill/decode speed and time to first token: Fireside's engine vs its peers, same run.

Peers, with the same model, threads, context and batch size:
  * plain llama-cpp-python (the library the engine wraps): what our layer costs;
  * ``llama-bench`` from the same llama.cpp revision (built by bench/build_llama_tools.sh):
    the C++ ceiling.
All Python-side figures are wall-clock, taken the same way for the engine and the plain library.
Each contender runs in its own process: llama.cpp's OpenMP backend keeps a worker team per
calling thread, and the engine calls from its own thread, so two contenders in one process
would slow each other down. The three take turns for ``--rounds`` rounds and medians over the
rounds are reported, so background noise lands on all of them alike (one run each, in turn,
once printed 0.887x and 0.990x on the same quiet machine). llama-bench runs with flash
attention set as the engine loads by default.
Targets: decode >= 0.97x llama-bench, prefill >= 0.95x.

    .venv/bin/python bench/decode.py [--model PATH] [--rounds 3] [--reps 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fireside.core.inference.engine import Engine, default_threads
from fireside.core.inference.types import LoadSettings, SamplingParams

log = logging.getLogger("fireside.bench")
CACHE = Path(os.environ.get("FIRESIDE_DEV_CACHE", Path.home() / ".cache" / "fireside-dev"))
DEFAULT_MODEL = CACHE / "starter" / "SmolLM2-135M-Instruct.Q4_1.gguf"
N_PROMPT, N_GEN, N_CTX, N_BATCH = 512, 128, 2048, 512
WORDS = ("river stone lantern orchard copper meadow harbor violet thunder quiet ember "
         "glacier saddle walnut mirror canyon").split()


def prompt_tokens(llm: Any, rep: int) -> list[int]:
    """A distinct prompt of exactly N_PROMPT tokens per rep, so no prefix cache is reused."""
    text = " ".join(WORDS[(i * 7 + rep) % len(WORDS)] for i in range(N_PROMPT * 2))
    tokens = llm.tokenize(f"{rep} {text}".encode(), add_bos=True, special=False)
    return list(tokens[:N_PROMPT])


def measure(stream_tokens: Any) -> tuple[float, float, float]:
    """(ttft_s, prefill tok/s, decode tok/s) by wall clock around a token iterator."""
    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in stream_tokens]
    ttft = stamps[0] - start
    decode = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return ttft, N_PROMPT / ttft, decode


def bench_engine(model: Path, threads: int, reps: int) -> dict[str, float]:
    engine = Engine()
    engine.load(model, LoadSettings(n_ctx=N_CTX, n_threads=threads, n_batch=N_BATCH))
    llm = engine._llm
    params = SamplingParams(temperature=0.0, max_tokens=N_GEN, repeat_penalty=1.0, min_p=0.0,
                            top_k=1, stop=[])
    runs = []
    for rep in range(reps + 1):
        tokens = prompt_tokens(llm, rep)
        text = llm.detokenize(tokens[1:]).decode("utf-8", "replace")

        stamps: list[float] = []
        begin = time.perf_counter()
        done = engine.complete(text, params, on_token=lambda _t, s=stamps: s.append(
            time.perf_counter()))
        ttft = stamps[0] - begin
        runs.append((ttft, done.stats.prompt_tokens / ttft,
                     (len(stamps) - 1) / (stamps[-1] - stamps[0])))
    engine.unload()
    return summarise(runs[1:])


def bench_plain(model: Path, threads: int, reps: int) -> dict[str, float]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(model), n_ctx=N_CTX, n_threads=threads, n_batch=N_BATCH,
                flash_attn=LoadSettings().flash_attn, verbose=False)
    runs = []
    for rep in range(reps + 1):
        tokens = prompt_tokens(llm, rep)
        stream = llm.create_completion(tokens, max_tokens=N_GEN, temperature=0.0, top_k=1,
                                       min_p=0.0, repeat_penalty=1.0, stream=True)
        runs.append(measure(c for c in stream if not c["choices"][0]["finish_reason"]))
    llm.close()
    return summarise(runs[1:])


def summarise(runs: list[tuple[float, float, float]]) -> dict[str, float]:
    return {"ttft_s": statistics.median(r[0] for r in runs),
            "prefill_tokens_per_s": statistics.median(r[1] for r in runs),
            "decode_tokens_per_s": statistics.median(r[2] for r in runs)}


def bench_llama_bench(model: Path, threads: int, reps: int) -> dict[str, float] | None:
    script = Path(__file__).with_name("build_llama_tools.sh")
    try:
        bindir = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                                check=True).stdout.strip().splitlines()[-1]
    except (subprocess.CalledProcessError, IndexError) as exc:
        log.warning("llama-bench unavailable: %s", exc)
        return None
    flash = "1" if LoadSettings().flash_attn else "0"  # as the engine loads
    common = ["-m", str(model), "-t", str(threads), "-b", str(N_BATCH), "-r", str(reps),
              "-fa", flash, "-o", "json"]
    # Prefill from an empty context; decode at depth N_PROMPT, as Fireside decodes after its
    # prompt (tg128 at depth 0 would flatter llama-bench: attention over an empty cache).
    pp = json.loads(subprocess.run([f"{bindir}/llama-bench", *common, "-p", str(N_PROMPT),
                                    "-n", "0"], capture_output=True, text=True,
                                   check=True).stdout)[0]
    tg = json.loads(subprocess.run([f"{bindir}/llama-bench", *common, "-p", "0", "-n",
                                    str(N_GEN), "-d", str(N_PROMPT)], capture_output=True,
                                   text=True, check=True).stdout)[0]
    return {"prefill_tokens_per_s": pp["avg_ts"], "decode_tokens_per_s": tg["avg_ts"],
            "ttft_s": N_PROMPT / pp["avg_ts"]}


def in_child(which: str, args: argparse.Namespace) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--only", which, "--model", str(args.model),
                          "--threads", str(args.threads), "--reps", str(args.reps)],
                         capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--reps", type=int, default=2, help="repetitions per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=("fireside", "llama_cpp_python"),
                        help=argparse.SUPPRESS)  # the child process that measures one
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.only:
        bench = bench_engine if args.only == "fireside" else bench_plain
        print(json.dumps(bench(args.model, args.threads, args.reps)))
        return 0
    rounds: dict[str, list[dict[str, float]]] = {
        "fireside": [], "llama_cpp_python": [], "llama_bench": []}
    for _ in range(args.rounds):  # interleaved: each contender once per round
        rounds["fireside"].append(in_child("fireside", args))
        rounds["llama_cpp_python"].append(in_child("llama_cpp_python", args))
        peer = bench_llama_bench(args.model, args.threads, args.reps)
        if peer is not None:
            rounds["llama_bench"].append(peer)
    results: dict[str, Any] = {
        "model": str(args.model), "threads": args.threads, "n_prompt": N_PROMPT,
        "n_gen": N_GEN, "rounds": args.rounds, "load_average": os.getloadavg(),
        **{name: ({k: statistics.median(r[k] for r in runs) for k in runs[0]} if runs else None)
           for name, runs in rounds.items()},
    }
    ratios: dict[str, float] = {}
    for peer in ("llama_cpp_python", "llama_bench"):
        if results[peer]:
            for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
                ratios[f"{key}_vs_{peer}"] = results["fireside"][key] / results[peer][key]
    results["ratios"] = ratios
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    load = results["load_average"]
    print(f"model {args.model.name}, threads {args.threads}, pp{N_PROMPT} / tg{N_GEN}, "
          f"medians of {args.rounds} interleaved rounds, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'':18} {'prefill tok/s':>14} {'decode tok/s':>13} {'ttft ms':>8}")
    for peer in ("fireside", "llama_cpp_python", "llama_bench"):
        r = results[peer]
        if r:
            print(f"{peer:18} {r['prefill_tokens_per_s']:14.1f} {r['decode_tokens_per_s']:13.1f}"
                  f" {r['ttft_s'] * 1000:8.1f}")
    for key, value in ratios.items():
        target = 0.97 if key.startswith("decode") and key.endswith("llama_bench") else (
            0.95 if key.endswith("llama_bench") else None)
        verdict = "" if target is None else (" ok" if value >= target else f" BELOW {target}")
        print(f"ratio {key:45} {value:5.3f}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
