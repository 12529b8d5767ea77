"""``--gpu-layers N|max|auto``: one parser and one resolver for every front (run, serve, bench,
fit, the load dialog).

``auto`` does what LM Studio does: as many layers on the GPU as the estimator says fit in free
VRAM, the rest on the CPU. Where no GPU is usable (none found, or this llama.cpp build cannot
offload) it resolves to 0 and says so, rather than asking llama.cpp for layers it would silently
keep on the CPU.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from fireside.core.cli.output import human_bytes
from fireside.core.hardware import estimate
from fireside.core.hardware.probe import HardwareInfo, probe
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

log = logging.getLogger("fireside.hardware")
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
    # nothing was chosen (no GPU at all): views that show the choice say it, the command line
    # stays quiet so a refusal is still one line
    obvious: bool = False


def resolve(requested: int | None, meta: ModelMeta | None, settings: LoadSettings,
            hw: HardwareInfo | None = None, *, reclaim_bytes: int = 0) -> Offload:
    """The layer count to load with. Only ``auto`` needs the model and the machine (probed
    here when ``hw`` is None)."""
    if requested is not AUTO:
        return Offload(requested, "")
    if hw is None:
        hw = probe()
    if not hw.gpus:
        return Offload(0, "GPU layers auto: no GPU found, so all layers run on the CPU",
                       obvious=True)
    if not estimate.gpu_usable(hw):
        backend = str(hw.backends.get("backend", "cpu")).upper()
        return Offload(0, f"GPU layers auto: this llama.cpp was built for {backend} and "
                       "cannot offload, so all layers run on the CPU")
    if meta is None:
        return Offload(MAX, "GPU layers auto: no header to estimate from, offloading all")
    result = estimate.fit(meta, hw, n_ctx=settings.n_ctx, n_gpu_layers=None,
                          kv_type=settings.kv_cache_type, n_batch=settings.n_batch,
                          swa_full=settings.swa_full, n_seq=settings.slots(meta.sliding_window),
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


@dataclass(frozen=True)
class DeviceShare:
    """One device's part of a (partial) offload: what ``fireside fit`` prints per device."""

    device: str  # "CPU" or "GPU 0: <name>"
    layers: int  # repeating blocks on it (the output layer is counted where it lives)
    weights_bytes: int
    kv_bytes: int
    other_bytes: int  # CPU: vocab + context state; GPU: compute buffer + runtime context

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.other_bytes

    def to_json(self) -> dict[str, int | str]:
        return {"device": self.device, "layers": self.layers, "weights_bytes": self.weights_bytes,
                "kv_bytes": self.kv_bytes, "other_bytes": self.other_bytes,
                "total_bytes": self.total_bytes}


def device_split(meta: ModelMeta, est: estimate.Estimate, hw: HardwareInfo, *,
                 swa_full: bool = False, n_seq: int = 1) -> list[DeviceShare]:
    """Split ``est`` over the CPU and the GPUs as llama.cpp's default (layer split, in
    proportion to each GPU's free memory) would place it. Every GPU used holds its own compute
    buffer and runtime context; the last one also holds the output layer and the logits."""
    total = meta.block_count + 1
    first_gpu = total - est.n_gpu_layers
    layer_bytes = meta.layer_bytes or tuple([0] * meta.block_count)

    def kv(i: int) -> int:
        cells = estimate.kv_cell_count(meta, i, est.n_ctx, est.n_ubatch, swa_full, n_seq)
        return estimate.kv_layer_bytes(meta, est.kv_type, cells, i)

    cpu_blocks = list(range(min(first_gpu, meta.block_count)))
    shares = [DeviceShare("CPU", len(cpu_blocks), est.weights_cpu_bytes, est.kv_cpu_bytes,
                          est.runtime_bytes)]
    gpus = [g for g in hw.gpus if not g.unified_memory] or hw.gpus
    gpu_blocks = list(range(first_gpu, meta.block_count))
    if est.n_gpu_layers == 0 or not gpus:
        return shares
    free = [max(1, g.vram_free_bytes) for g in gpus]
    bounds, acc = [], 0
    for f in free:  # cumulative share of the offloaded blocks, as llama.cpp's tensor_split
        acc += f
        bounds.append(round(len(gpu_blocks) * acc / sum(free)))
    out_bytes = est.weights_gpu_bytes - sum(layer_bytes[i] for i in gpu_blocks)
    chunks = [gpu_blocks[(bounds[k - 1] if k else 0):bounds[k]] for k in range(len(gpus))]
    holder = max((k for k, c in enumerate(chunks) if c), default=len(gpus) - 1)
    for k, gpu in enumerate(gpus):
        mine = chunks[k]
        holds_output = k == holder  # llama.cpp offloads the output layer first
        if not mine and not holds_output:
            continue
        weights = sum(layer_bytes[i] for i in mine) + (out_bytes if holds_output else 0)
        compute = est.compute_buffer_bytes + estimate.GPU_CONTEXT_BYTES
        shares.append(DeviceShare(f"GPU {gpu.index}: {gpu.name}", len(mine), weights,
                                  sum(kv(i) for i in mine), compute))
    return shares


def settings_for(saved: dict[str, LoadSettings], name: str,
                 meta: ModelMeta | None) -> LoadSettings:
    """A model's saved load settings; for one never loaded with chosen settings, the defaults
    with ``auto`` GPU layers (0 where no GPU is usable, so CPU machines see no change)."""
    if name in saved:
        return saved[name]
    settings = LoadSettings()
    got = resolve(AUTO, meta, settings)
    settings.n_gpu_layers = got.n_gpu_layers
    log.info("%s: %s", name, got.message)
    return settings
