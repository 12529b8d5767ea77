"""`fireside bench`: a fixed prompt set, so runs on other machines or quants compare.

The prompts, sampling (greedy, fixed seed) and token budget never change between runs; what
varies is recorded next to the figures: the llama.cpp build, the file's sha256, the load settings
and the machine. Results are saved as JSON under ``<data dir>/benchmarks/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fireside.core.hardware import probe
from fireside.core.inference.types import LoadSettings, SamplingParams

log = logging.getLogger("fireside.hardware.bench")

#: Short, medium and long prompts: TTFT and prefill speed depend on the prompt length.
PROMPTS: tuple[tuple[str, str], ...] = (
    ("short", "Write one sentence about the sea."),
    ("medium", "Explain, step by step, how a bicycle gear system trades force for speed. "
               "Cover chainrings, cassettes, gear ratios and cadence." * 2),
    ("long", " ".join(["The quick brown fox jumps over the lazy dog."] * 40)
     + " Summarise the text above in one line."),
)
MAX_TOKENS = 64
BENCH_VERSION = 1


def sha256_file(path: Path, chunk: int = 8 * 2**20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class PeakRss:
    """Samples RSS every 20 ms in a thread; the peak is what a user's machine must hold."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.peak = probe.process_rss()
        self._stop = threading.Event()
        self._interval = interval_s
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, probe.process_rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, probe.process_rss())


@dataclass
class BenchResult:
    data: dict[str, Any]
    saved_to: Path | None


def llama_build() -> dict[str, Any]:
    info = probe.llama_backends()
    return {k: info.get(k) for k in ("version", "system_info", "gpu_offload")}


def run(engine: Any, path: Path, settings: LoadSettings, *, name: str = "",
        out_dir: Path | None = None) -> BenchResult:
    """Load ``path`` into ``engine`` and run :data:`PROMPTS`; save JSON to ``out_dir``."""
    rss_before = probe.process_rss()
    with PeakRss() as peak:
        loaded = engine.load(path, settings, name=name or path.stem)
        rows: list[dict[str, Any]] = []
        for label, prompt in PROMPTS:
            params = SamplingParams(temperature=0.0, seed=1, max_tokens=MAX_TOKENS)
            result = engine.complete(prompt, params)
            s = result.stats
            rows.append({"prompt": label, "prompt_tokens": s.prompt_tokens,
                         "completion_tokens": s.completion_tokens, "ttft_s": s.ttft_s,
                         "prefill_tokens_per_s": s.prefill_tokens_per_s,
                         "decode_tokens_per_s": s.decode_tokens_per_s})
    hw = probe.probe(include_backends=False)

    def mean(key: str) -> float:
        vals = [r[key] for r in rows if r[key]]
        return sum(vals) / len(vals) if vals else 0.0

    data: dict[str, Any] = {
        "bench_version": BENCH_VERSION, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": loaded.name, "file": path.name, "sha256": sha256_file(path),
        "quantization": loaded.meta.quantization, "settings": settings.to_json(),
        "n_ctx": loaded.n_ctx, "load_s": loaded.load_s, "llama_cpp": llama_build(),
        "machine": {"cpu": hw.cpu_model, "cores": hw.cpu_physical_cores,
                    "ram_total_bytes": hw.ram_total_bytes, "os": platform.platform(),
                    "gpus": [g.name for g in hw.gpus]},
        "prefill_tokens_per_s": mean("prefill_tokens_per_s"),
        "decode_tokens_per_s": mean("decode_tokens_per_s"),
        "ttft_s": mean("ttft_s"), "peak_rss_bytes": peak.peak,
        "peak_rss_delta_bytes": peak.peak - rss_before, "prompts": rows,
    }
    saved: Path | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        saved = out_dir / f"{stamp}-{loaded.name}.json"
        saved.write_text(json.dumps(data, indent=2), encoding="utf-8")
        log.info("benchmark saved to %s", saved)
    return BenchResult(data, saved)
