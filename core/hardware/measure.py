"""What a load really cost: RSS and VRAM deltas, and llama.cpp's own buffer sizes.

:class:`LoadMonitor` listens to the engine ("loaded"/"unloaded", no change to the engine) and
stores each measurement next to the estimator's prediction, so the hardware panel can show both.
The baseline is this process's RSS/VRAM when no model is loaded (at attach time, or after the
last unload; a load that *replaces* a model reuses the previous baseline, since the old weights
are freed first). :func:`measure_fresh` does the same in a fresh subprocess — the quantity the
estimator's ``total_bytes`` predicts (see ``estimate``'s module docstring).

llama.cpp's buffer sizes come from its log ("CPU KV buffer size = 45.00 MiB"): the engine loads
with ``verbose=False``, which only silences llama-cpp-python's printing, so a log callback of our
own still sees every line (through :mod:`fireside.core.llama_log`, the one owner of llama.cpp's
process-wide callback, which also sends warnings and errors to the ``fireside.llama`` logger).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fireside.core import llama_log
from fireside.core.errors import FiresideError
from fireside.core.hardware import estimate as est_mod
from fireside.core.hardware import probe
from fireside.core.inference.types import LoadSettings

log = logging.getLogger("fireside.hardware.measure")
MiB = 2**20
_BUFFER_RE = re.compile(r"(\S+)\s+(model|KV|compute|output|RS)\s+buffer size\s*=\s*([\d.]+)\s*MiB")
_NEW_LOAD_RE = re.compile(r"llama_model_loader: loaded meta data")
# The engine replaces a placeholder context (see inference/batch.py): a new context's
# buffers supersede the last one's, only the weights' add up.
_NEW_CONTEXT_RE = re.compile(r"llama_context: constructing llama_context")


class LlamaLogCapture:
    """Collects llama.cpp's "<device> <kind> buffer size = N MiB" lines of the latest load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffers: dict[str, int] = {}

    def install(self) -> bool:
        """Route llama.cpp's log here; False when llama_cpp cannot be imported."""
        return llama_log.attach(self)

    def feed(self, _level: int, line: str) -> None:
        if _NEW_LOAD_RE.search(line):
            with self._lock:
                self._buffers = {}
            return
        if _NEW_CONTEXT_RE.search(line):
            with self._lock:
                self._buffers = {k: v for k, v in self._buffers.items() if k.endswith(" model")}
            return
        match = _BUFFER_RE.search(line)
        if match:
            key = f"{match.group(1)} {match.group(2)}"
            with self._lock:
                self._buffers[key] = self._buffers.get(key, 0) + int(float(match.group(3)) * MiB)

    def buffers(self) -> dict[str, int]:
        """e.g. {"CPU_Mapped model": 96.5e6, "CPU KV": 47e6, "CPU compute": 107e6}."""
        with self._lock:
            return dict(self._buffers)


def vram_used() -> int:
    return sum(g.vram_used_bytes for g in probe.nvidia_gpus() + probe.amd_gpus()
               if not g.unified_memory)


@dataclass
class LoadMeasurement:
    """Prediction and reality for one load, as the panel's table shows them."""

    model: str
    settings: dict[str, Any]
    predicted: dict[str, Any]
    rss_before_bytes: int | None
    rss_after_load_bytes: int
    vram_before_bytes: int
    vram_after_load_bytes: int
    llama_buffers: dict[str, int] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    @property
    def rss_delta_bytes(self) -> int | None:
        if self.rss_before_bytes is None:
            return None
        return self.rss_after_load_bytes - self.rss_before_bytes

    @property
    def vram_delta_bytes(self) -> int:
        return self.vram_after_load_bytes - self.vram_before_bytes

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "settings": self.settings, "predicted": self.predicted,
                "rss_before_bytes": self.rss_before_bytes,
                "rss_after_load_bytes": self.rss_after_load_bytes,
                "rss_delta_bytes": self.rss_delta_bytes,
                "vram_delta_bytes": self.vram_delta_bytes,
                "llama_buffers": self.llama_buffers, "at": self.at}


class LoadMonitor:
    """Measures every load of ``engine``; ``on_measured`` callbacks run in the loading thread."""

    def __init__(self, engine: Any, *, capture_log: bool = True) -> None:
        self.capture = LlamaLogCapture()
        if capture_log:
            self.capture.install()
        self.last: LoadMeasurement | None = None
        self._callbacks: list[Callable[[LoadMeasurement], None]] = []
        self._baseline: tuple[int, int] | None = None
        if getattr(engine, "loaded", None) is None:
            self._baseline = (probe.process_rss(), vram_used())
        engine.add_listener(self._on_event)

    def on_measured(self, callback: Callable[[LoadMeasurement], None]) -> None:
        self._callbacks.append(callback)

    def rss_delta_now(self) -> int | None:
        """The loaded model's footprint now (grows a little after the first generation)."""
        if self._baseline is None or self.last is None:
            return None
        return probe.process_rss() - self._baseline[0]

    def _on_event(self, event: str, model: Any) -> None:
        if event == "unloaded":
            self._baseline = (probe.process_rss(), vram_used())
            self.last = None
            return
        if event != "loaded" or model is None:
            return
        settings: LoadSettings = model.settings
        predicted = est_mod.for_settings(model.meta, model.n_ctx, settings)
        before = self._baseline
        self.last = LoadMeasurement(
            model=model.name, settings=settings.to_json(), predicted=predicted.to_json(),
            rss_before_bytes=before[0] if before else None,
            rss_after_load_bytes=probe.process_rss(),
            vram_before_bytes=before[1] if before else 0, vram_after_load_bytes=vram_used(),
            llama_buffers=self.capture.buffers())
        for callback in list(self._callbacks):
            try:
                callback(self.last)
            except Exception:
                log.exception("load measurement callback failed")


# -- a fresh process: what the estimator predicts ------------------------------------------
def measure_fresh(path: Path, settings: LoadSettings, *, tokens: int = 8,
                  timeout_s: float = 180) -> dict[str, Any]:
    """Load ``path`` in a new Python process, generate ``tokens``, report the RSS it added."""
    cmd = [sys.executable, "-m", "fireside.core.hardware.measure", str(path),
           "--settings", json.dumps(settings.to_json()), "--tokens", str(tokens)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FiresideError(f"measuring {path.name} took over {timeout_s:.0f}s") from exc
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FiresideError(f"measuring {path.name} failed: {tail[0]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _child(argv: list[str]) -> int:
    """Body of the fresh process: baseline after llama.cpp is initialised, then load+generate."""
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--settings", default="{}")
    parser.add_argument("--tokens", type=int, default=8)
    args = parser.parse_args(argv)
    import llama_cpp

    from fireside.core.inference.engine import Engine
    from fireside.core.inference.types import SamplingParams

    llama_cpp.llama_backend_init()
    capture = LlamaLogCapture()
    capture.install()
    settings = LoadSettings(**json.loads(args.settings))
    engine = Engine()
    rss0, vram0 = probe.process_rss(), vram_used()
    engine.load(args.path, settings)
    rss1, vram1 = probe.process_rss(), vram_used()
    result = engine.complete("Hello, my name is", SamplingParams(
        max_tokens=args.tokens, temperature=0.0, seed=1))
    rss2, vram2 = probe.process_rss(), vram_used()
    print(json.dumps({
        "rss_before_bytes": rss0, "rss_delta_load_bytes": rss1 - rss0,
        "rss_delta_bytes": rss2 - rss0, "vram_delta_bytes": vram2 - vram0,
        "vram_delta_load_bytes": vram1 - vram0, "tokens": result.stats.completion_tokens,
        "n_ctx": engine.loaded.n_ctx if engine.loaded else 0,
        "llama_buffers": capture.buffers(), "settings": settings.to_json()}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
