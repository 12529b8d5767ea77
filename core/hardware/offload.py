"""``--gpu-layers N|max|auto``: one parser and one resolver for every front (run, serve, bench,
fit, the load dialog).

``auto`` does what LM Studio does: as many layers on the GPU as the estimator says fit in free
VRAM, the rest on the CPU. Where no GPU is usable (none found, or this llama.cpp build cannot
offload) it resolves to 0 and says so, rather than asking llama.cpp for layers it would silently
keep on the CPU.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from fireside.core.cli.output import human_bytes
from fireside.core.hardware import estimate
from fireside.core.hardware.probe import HardwareInfo, probe
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

AUTO = None  # the parsed value of "auto"
MAX = -1  # llama.cpp's "all layers"
CHOICES_HELP = "N layers, `max` (all) or `auto` (the most that fit in free VRAM; default)"


def parse_gpu_layers(text: str) -> int | None:
    """argparse ``type=``: ``auto`` -> None, ``max``/``all``/``-1`` -> -1, else N >= 0."""
    word = text.strip().lower()
    if word == "auto":
        return AUTO
    if word in ("max", "all", "-1"):
        return MAX
    try:
        n = int(word)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use a layer count, `max` or `auto`") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a layer count is 0 or more")
    return n


@dataclass(frozen=True)
class Offload:
    """What a request resolved to, and the sentence that says so."""

    n_gpu_layers: int
    message: str


def resolve(requested: int | None, meta: ModelMeta | None, settings: LoadSettings,
            hw: HardwareInfo | None = None, *, reclaim_bytes: int = 0) -> Offload:
    """The layer count to load with. Only ``auto`` needs the model and the machine (probed
    here when ``hw`` is None)."""
    if requested is not AUTO:
        return Offload(requested, "")
    if hw is None:
        hw = probe()
    if not estimate.gpu_usable(hw):
        why = ("no GPU found" if not hw.gpus else
               f"this llama.cpp was built for {str(hw.backends.get('backend', 'cpu')).upper()}"
               " and cannot offload")
        return Offload(0, f"GPU layers auto: {why}, so all layers run on the CPU")
    if meta is None:
        return Offload(MAX, "GPU layers auto: no header to estimate from, offloading all")
    result = estimate.fit(meta, hw, n_ctx=settings.n_ctx, n_gpu_layers=None,
                          kv_type=settings.kv_cache_type, n_batch=settings.n_batch,
                          swa_full=settings.swa_full, n_seq=settings.parallel,
                          reclaim_bytes=reclaim_bytes)
    total = meta.block_count + 1
    n, vram = result.gpu_layers, human_bytes(result.estimate.vram_bytes)
    if n >= total:
        msg = f"GPU layers auto: all {total} on the GPU ({vram} VRAM)"
    elif n > 0:
        msg = f"GPU layers auto: {n} of {total} on the GPU ({vram} VRAM), the rest on the CPU"
    else:
        msg = "GPU layers auto: not even one layer fits in free VRAM, all on the CPU"
    return Offload(n, msg)
