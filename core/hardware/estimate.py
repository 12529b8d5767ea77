"""THE memory estimator: how much RAM and VRAM a model needs, and whether it fits here.

It reads only :class:`~fireside.core.models.meta.ModelMeta`, so it answers for a local file
(``read_meta``) and for a remote one whose header prefix was fetched
(``meta_from_header(parse_header(prefix))``) alike. Everything else in the app (the fit CLI, the
load dialog, the Discover view, the server's JIT loads) asks this module.

What ``total_bytes`` predicts, exactly: the resident memory (RSS, plus VRAM where layers are
offloaded) that a process *adds* by loading the model with these settings and generating a few
tokens from a short prompt, measured against the same process after ``import llama_cpp`` and
``llama_backend_init()`` (library code is paid once per app, whatever the model).
``peak_ram_bytes`` adds the activations a full ``n_batch`` prefill touches; the verdict uses it.

Calibration (CPU, this repo's dev box: 2-core AVX-512 x86-64, 24 GB, llama-cpp-python 0.3.36,
starter SmolLM2-135M Q4_1, loaded through ``Engine`` with its defaults: mmap on, flash attention
on, n_batch 512; RSS delta after an 8-token generation, a fresh process each —
``python -m fireside.core.hardware.measure``):

=========  =========  =====================  ======================================
context     measured   weights + KV (exact)   remainder = runtime overhead
=========  =========  =====================  ======================================
512        129.0 MiB   92.1 + 11.25 MiB       25.6 MiB
2048       163.8 MiB   92.1 + 45.0 MiB        26.7 MiB
8192       299.0 MiB   92.1 + 180.0 MiB       26.9 MiB
=========  =========  =====================  ======================================

llama.cpp's compute reservation (``compute_buffer_bytes``): the larger of the output stage's
logits and a layer's activations plus the f16 KQ masks, which grow with the context (the
starter's logits dominate: 98.25 MiB at 512 and at 8192). It is virtual on the CPU (see below)
but reserved in full in VRAM, so it matters for offload.

A ``vocab_only=True`` load of the same file adds 17.6 MiB (token strings, BPE merges and their
hash maps, the GGUF metadata copy): 375 bytes per vocabulary entry. The rest, ~8.8 MiB, is
context state (graph metadata, output buffer, thread pool, the compute-buffer pages a short
decode touches, the engine's Python-side buffers) and does not vary with context. llama.cpp
*reserves* a worst-case compute buffer (98.25 MiB here at n_ubatch 512), but on the CPU its
pages are only resident once used: a 400-token prompt added 11.3 MiB more, i.e. ~13 floats
per embedding dimension per batch token, which is ``prefill_extra_bytes``. KV sizes match
llama.cpp's logged "KV buffer size" to the byte.

GPU figures are *not* calibrated on real hardware (the dev box has none): offloaded layers move
their weights and KV to VRAM, the compute buffer is reserved in full there, and each GPU used
costs a CUDA/ROCm context (``GPU_CONTEXT_BYTES``, a typical figure). ``packaging/gpu_check.sh``
prints our NVML figures next to nvidia-smi's for whoever has a GPU to check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fireside.core.errors import FiresideError
from fireside.core.hardware.probe import HardwareInfo
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

MiB = 2**20
GiB = 2**30

#: bytes per element as (numerator, denominator): q8_0 stores 32 values in 34 bytes, q4_0 in 18.
KV_TYPE_BYTES: dict[str, tuple[int, int]] = {"f16": (2, 1), "q8_0": (34, 32), "q4_0": (18, 32)}
#: llama.cpp rounds the KV cache up to a multiple of 256 cells (n_ctx 1000 -> 1024).
CTX_PAD = 256
#: See the module docstring: vocab structures, measured with a vocab_only load.
VOCAB_BYTES_PER_TOKEN = 375
#: Context state that does not grow with the context (measured remainder minus vocab).
RUNTIME_BASE_BYTES = int(8.8 * MiB)
#: Floats of activations per embedding dimension per prefill batch token (measured on CPU).
ACT_FLOATS_PER_EMBD = 13
#: The KQ mask: one f16 per KV cell per ubatch token (flash attention's layout).
KQ_MASK_BYTES = 2
#: CUDA/ROCm runtime + cuBLAS context per GPU used. Typical, not calibrated here (no GPU).
GPU_CONTEXT_BYTES = 350 * MiB
#: Keep this much of the available RAM/VRAM free: the OS, page cache and other apps move.
HEADROOM_FRACTION = 0.05
HEADROOM_MAX_BYTES = 1 * GiB

VERDICTS = ("fits_gpu", "partial_offload", "cpu_only", "too_large")


class MemoryRefusedError(FiresideError):
    """A load predicted to need more memory than is available (override to load anyway)."""

    def __init__(self, message: str, fit: Fit) -> None:
        super().__init__(message)
        self.fit = fit


@dataclass(frozen=True)
class Estimate:
    """Predicted bytes for one configuration, split by where they live."""

    n_ctx: int
    n_gpu_layers: int  # effective: 0 .. block_count + 1 (the output layer counts as one)
    kv_type: str
    n_ubatch: int
    weights_cpu_bytes: int
    weights_gpu_bytes: int
    kv_cpu_bytes: int
    kv_gpu_bytes: int
    runtime_bytes: int  # vocab + context state, in RAM
    compute_gpu_bytes: int  # the reserved compute buffer + GPU context, in VRAM
    compute_buffer_bytes: int  # llama.cpp's worst-case compute reservation (virtual on CPU)
    prefill_extra_bytes: int  # RAM a full-batch prefill adds on top of ram_bytes (CPU layers)

    @property
    def weights_bytes(self) -> int:
        return self.weights_cpu_bytes + self.weights_gpu_bytes

    @property
    def kv_cache_bytes(self) -> int:
        return self.kv_cpu_bytes + self.kv_gpu_bytes

    @property
    def overhead_bytes(self) -> int:
        return self.runtime_bytes + self.compute_gpu_bytes

    @property
    def ram_bytes(self) -> int:
        return self.weights_cpu_bytes + self.kv_cpu_bytes + self.runtime_bytes

    @property
    def vram_bytes(self) -> int:
        return self.weights_gpu_bytes + self.kv_gpu_bytes + self.compute_gpu_bytes

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    @property
    def peak_ram_bytes(self) -> int:
        return self.ram_bytes + self.prefill_extra_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "n_ctx": self.n_ctx, "n_gpu_layers": self.n_gpu_layers, "kv_type": self.kv_type,
            "weights_bytes": self.weights_bytes, "kv_cache_bytes": self.kv_cache_bytes,
            "overhead_bytes": self.overhead_bytes, "total_bytes": self.total_bytes,
            "ram_bytes": self.ram_bytes, "vram_bytes": self.vram_bytes,
            "peak_ram_bytes": self.peak_ram_bytes,
            "weights_cpu_bytes": self.weights_cpu_bytes,
            "weights_gpu_bytes": self.weights_gpu_bytes,
            "kv_cpu_bytes": self.kv_cpu_bytes, "kv_gpu_bytes": self.kv_gpu_bytes,
            "runtime_bytes": self.runtime_bytes, "compute_gpu_bytes": self.compute_gpu_bytes,
            "compute_buffer_bytes": self.compute_buffer_bytes,
            "prefill_extra_bytes": self.prefill_extra_bytes,
        }


def padded_context(n_ctx: int) -> int:
    return max(CTX_PAD, math.ceil(n_ctx / CTX_PAD) * CTX_PAD)


def _row_bytes(kv_type: str, n_elements: int) -> int:
    if kv_type not in KV_TYPE_BYTES:
        raise FiresideError(f"unknown KV cache type {kv_type!r} (use f16, q8_0 or q4_0)")
    num, den = KV_TYPE_BYTES[kv_type]
    return n_elements * num // den


def _is_swa(meta: ModelMeta, layer: int) -> bool:
    if meta.swa_layer_flags:
        return 0 <= layer < len(meta.swa_layer_flags) and meta.swa_layer_flags[layer]
    # A ModelMeta built by hand with only a count: the first layers are taken to slide.
    return layer < meta.sliding_window_layers


def kv_cell_count(meta: ModelMeta, layer: int, n_ctx: int, n_ubatch: int,
                  swa_full: bool, n_seq: int = 1) -> int:
    """KV cells layer ``layer`` keeps. Sliding-window layers keep the window per sequence plus
    one ubatch, padded to 256 (llama.cpp's ``llama_kv_cache_iswa``; the engine's cache is
    unified over its ``n_seq`` slots), unless ``swa_full`` keeps them full-size."""
    if swa_full or not meta.sliding_window or not _is_swa(meta, layer):
        return n_ctx
    want = min(n_ctx, meta.sliding_window * max(1, n_seq) + n_ubatch)
    return math.ceil(want / CTX_PAD) * CTX_PAD


def kv_layer_bytes(meta: ModelMeta, kv_type: str, cells: int, layer: int = 0) -> int:
    """K and V of one layer: cells x its KV heads x head dim, per llama.cpp's row size."""
    heads = meta.kv_heads(layer)
    k = _row_bytes(kv_type, heads * meta.key_length)
    v = _row_bytes(kv_type, heads * meta.value_length)
    return cells * (k + v)


def compute_buffer_bytes(meta: ModelMeta, n_ctx: int, n_ubatch: int, *, swa_full: bool = False,
                         n_seq: int = 1) -> int:
    """llama.cpp's worst-case compute reservation (flash attention on, as the engine loads).

    ggml's allocator reuses memory, so the buffer is the larger of two peaks: the output stage
    (f32 logits of one ubatch + two hidden states) and a layer (its FFN activations and
    hidden states, while the f16 KQ masks are live: one over the full cache and, for
    sliding-window models, one over the window cache). The mask grows with the context, so a
    small-vocabulary model's buffer does too; a large vocabulary's logits usually dominate.
    Checked against llama.cpp's "compute buffer size" on the starter and on synthetic llama,
    qwen2, OpenELM, gemma2 and gemma3 files (tests/hardware/test_synthetic_archs.py)."""
    ff = meta.feed_forward_length or 3 * meta.embedding_length
    emb = meta.embedding_length
    cells = n_ctx
    swa = [i for i in range(meta.block_count) if _is_swa(meta, i)] if meta.sliding_window else []
    if swa:
        cells += kv_cell_count(meta, swa[0], n_ctx, n_ubatch, swa_full, n_seq)
    output = 4 * n_ubatch * (meta.vocab_size + 2 * emb)
    layer = 4 * n_ubatch * (2 * ff + 5 * emb) + KQ_MASK_BYTES * cells * n_ubatch
    return max(output, layer)


def _gpu_layer_start(meta: ModelMeta, n_gpu_layers: int) -> tuple[int, int]:
    """(effective layer count, first block on the GPU); llama.cpp offloads from the end."""
    total = meta.block_count + 1
    n = total if n_gpu_layers < 0 else min(n_gpu_layers, total)
    return n, total - n


def estimate(meta: ModelMeta, n_ctx: int, *, n_gpu_layers: int = 0, kv_type: str = "f16",
             n_batch: int = 512, swa_full: bool = False, n_seq: int = 1) -> Estimate:
    """Predicted memory for ``meta`` loaded with these settings (see the module docstring)."""
    ctx = padded_context(n_ctx or meta.context_length or 4096)
    n_ubatch = max(1, min(n_batch, 512))  # llama-cpp-python's n_ubatch = min(n_batch, 512)
    n_gpu, first_gpu = _gpu_layer_start(meta, n_gpu_layers)
    layers = meta.layer_bytes or tuple([0] * meta.block_count)
    w_cpu = sum(b for i, b in enumerate(layers) if i < first_gpu)
    w_gpu = sum(b for i, b in enumerate(layers) if i >= first_gpu)
    kv_cpu = kv_gpu = 0
    for i in range(meta.block_count):
        b = kv_layer_bytes(meta, kv_type, kv_cell_count(meta, i, ctx, n_ubatch, swa_full, n_seq),
                           i)
        if i >= first_gpu:
            kv_gpu += b
        else:
            kv_cpu += b
    # Non-block tensors: token_embd always stays on the CPU; output(.weight) goes with the
    # "output layer". Tied-embedding models (one vocab x n_embd matrix) get a GPU duplicate.
    out_gpu = 0
    out_cpu = meta.output_bytes
    if n_gpu >= 1 and meta.parameter_count:
        bpp = meta.weights_bytes / meta.parameter_count
        out_matrix = min(meta.output_bytes, int(meta.vocab_size * meta.embedding_length * bpp))
        # A heuristic (ModelMeta keeps no per-tensor list): token_embd is often stored at a
        # higher precision than the average (the starter: q8_0 in a Q4_1 file, 1.48x), so only
        # well over one matrix's worth means a separate output.weight.
        tied = meta.output_bytes < 1.7 * out_matrix
        out_gpu = out_matrix
        out_cpu = meta.output_bytes if tied else meta.output_bytes - out_matrix
    compute = compute_buffer_bytes(meta, ctx, n_ubatch, swa_full=swa_full, n_seq=n_seq)
    gpu_fixed = compute + GPU_CONTEXT_BYTES if n_gpu >= 1 else 0
    cpu_fraction = first_gpu / max(1, meta.block_count) if meta.block_count else 1.0
    prefill = int(4 * ACT_FLOATS_PER_EMBD * meta.embedding_length * n_ubatch
                  * min(1.0, cpu_fraction))
    return Estimate(
        n_ctx=ctx, n_gpu_layers=n_gpu, kv_type=kv_type, n_ubatch=n_ubatch,
        weights_cpu_bytes=w_cpu + out_cpu, weights_gpu_bytes=w_gpu + out_gpu,
        kv_cpu_bytes=kv_cpu, kv_gpu_bytes=kv_gpu,
        runtime_bytes=RUNTIME_BASE_BYTES + VOCAB_BYTES_PER_TOKEN * meta.vocab_size,
        compute_gpu_bytes=gpu_fixed, compute_buffer_bytes=compute,
        prefill_extra_bytes=prefill,
    )


# -- verdicts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    """An estimate judged against this machine's free memory."""

    estimate: Estimate
    verdict: str  # one of VERDICTS
    gpu_layers: int  # the layer count the verdict is for (auto: the most that fit)
    max_context: int  # largest context (<= trained) that is not "too_large"; 0 if none
    ram_budget_bytes: int
    vram_budget_bytes: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        data = self.estimate.to_json()
        data.update(verdict=self.verdict, gpu_layers=self.gpu_layers,
                    max_context=self.max_context, ram_budget_bytes=self.ram_budget_bytes,
                    vram_budget_bytes=self.vram_budget_bytes, reason=self.reason)
        return data


def _headroom(total: int) -> int:
    return int(min(HEADROOM_MAX_BYTES, total * HEADROOM_FRACTION))


def gpu_usable(hw: HardwareInfo) -> bool:
    """A GPU is there *and* this llama.cpp build can offload to it."""
    offload = bool(hw.backends.get("gpu_offload")) if hw.backends else True
    return offload and bool(hw.gpus)


def budgets(hw: HardwareInfo, reclaim_bytes: int = 0) -> tuple[int, int, bool]:
    """(RAM budget, VRAM budget, unified) after headroom; ``reclaim_bytes`` is what unloading
    the current model gives back. VRAM is 0 when this llama.cpp build cannot offload."""
    ram = max(0, hw.ram_available_bytes + reclaim_bytes - _headroom(hw.ram_total_bytes))
    if not gpu_usable(hw):
        return ram, 0, False
    if any(g.unified_memory for g in hw.gpus):
        return ram, min(ram, sum(g.vram_free_bytes for g in hw.gpus)), True
    vram = sum(max(0, g.vram_free_bytes - _headroom(g.vram_total_bytes)) for g in hw.gpus)
    return ram, vram, False


def _fits(est: Estimate, ram: int, vram: int, unified: bool) -> bool:
    if unified:  # one pool: everything comes out of RAM, the GPU share caps the offloaded part
        return est.peak_ram_bytes + est.vram_bytes <= ram and est.vram_bytes <= vram
    return est.peak_ram_bytes <= ram and est.vram_bytes <= vram


def _judge(meta: ModelMeta, n_ctx: int, n_gpu_layers: int | None, kv_type: str, n_batch: int,
           swa_full: bool, n_seq: int, ram: int, vram: int,
           unified: bool) -> tuple[Estimate, str, int]:
    total_layers = meta.block_count + 1
    if n_gpu_layers is None:  # auto: the most layers that fit, then CPU only
        candidates = list(range(total_layers, -1, -1)) if vram > 0 else [0]
    else:
        candidates = [min(total_layers, total_layers if n_gpu_layers < 0 else n_gpu_layers)]
    est = estimate(meta, n_ctx, n_gpu_layers=candidates[0], kv_type=kv_type, n_batch=n_batch,
                   swa_full=swa_full, n_seq=n_seq)
    for n in candidates:
        est = estimate(meta, n_ctx, n_gpu_layers=n, kv_type=kv_type, n_batch=n_batch,
                       swa_full=swa_full, n_seq=n_seq)
        if _fits(est, ram, vram, unified):
            verdict = ("fits_gpu" if n == total_layers else
                       "partial_offload" if n > 0 else "cpu_only")
            return est, verdict, n
    return est, "too_large", candidates[0] if n_gpu_layers is not None else 0


def fit(meta: ModelMeta, hw: HardwareInfo, *, n_ctx: int = 0, n_gpu_layers: int | None = None,
        kv_type: str = "f16", n_batch: int = 512, swa_full: bool = False,
        n_seq: int | None = None, reclaim_bytes: int = 0) -> Fit:
    """Judge one configuration. ``n_gpu_layers=None`` means auto (most that fit);
    ``n_seq=None``, the slots the engine gives this model by default."""
    if n_seq is None:
        n_seq = LoadSettings().slots(meta.sliding_window)
    ram, vram, unified = budgets(hw, reclaim_bytes)
    if not gpu_usable(hw):  # llama.cpp ignores GPU layers it cannot place: all on the CPU
        n_gpu_layers = 0
    ctx = n_ctx or meta.context_length or 4096
    est, verdict, layers = _judge(meta, ctx, n_gpu_layers, kv_type, n_batch, swa_full, n_seq,
                                  ram, vram, unified)
    trained = meta.context_length or ctx
    lo, hi = 0, max(1, padded_context(trained) // CTX_PAD)
    while lo < hi:  # largest k with k*256 fitting; fitting is monotonic in the context
        mid = (lo + hi + 1) // 2
        _, v, _ = _judge(meta, mid * CTX_PAD, n_gpu_layers, kv_type, n_batch, swa_full, n_seq,
                         ram, vram, unified)
        if v == "too_large":
            hi = mid - 1
        else:
            lo = mid
    max_ctx = min(trained, lo * CTX_PAD)
    reason = _reason(est, verdict, layers, meta, ram, vram, max_ctx)
    return Fit(est, verdict, layers, max_ctx, ram, vram, reason)


def _gib(n: int) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def _reason(est: Estimate, verdict: str, layers: int, meta: ModelMeta, ram: int, vram: int,
            max_ctx: int) -> str:
    if verdict == "fits_gpu":
        return f"all {layers} layers on the GPU: {_gib(est.vram_bytes)} of {_gib(vram)} VRAM"
    if verdict == "partial_offload":
        return (f"{layers} of {meta.block_count + 1} layers on the GPU "
                f"({_gib(est.vram_bytes)} VRAM), the rest in RAM ({_gib(est.peak_ram_bytes)})")
    if verdict == "cpu_only":
        return f"runs from RAM: {_gib(est.peak_ram_bytes)} of {_gib(ram)} available"
    need = f"needs {_gib(est.peak_ram_bytes)} of RAM"
    if est.vram_bytes:
        need += f" and {_gib(est.vram_bytes)} of VRAM"
    have = f"{_gib(ram)} RAM" + (f" and {_gib(vram)} VRAM" if vram else "")
    hint = (f"; a context of at most {max_ctx} would fit" if max_ctx
            else "; try a smaller quantization")
    return f"at context {est.n_ctx} it {need} but only {have} is free{hint}"


@dataclass(frozen=True)
class LoadCheck:
    allowed: bool
    overridden: bool
    reason: str
    fit: Fit


def for_settings(meta: ModelMeta, n_ctx: int, settings: LoadSettings) -> Estimate:
    """The estimate of ``meta`` as the engine loads it with ``settings`` (its slot count and
    window caches included): what a loaded model holds, and so what unloading it gives back."""
    return estimate(meta, n_ctx, n_gpu_layers=settings.n_gpu_layers,
                    kv_type=settings.kv_cache_type, n_batch=settings.n_batch,
                    swa_full=settings.swa_full, n_seq=settings.slots(meta.sliding_window))


def check_load(meta: ModelMeta, settings: LoadSettings, hw: HardwareInfo, *,
               override: bool = False, reclaim_bytes: int = 0) -> LoadCheck:
    """The one refusal rule for every front: refuse a load predicted not to fit, unless the
    user explicitly overrides (then it is allowed and the reason is kept for a warning)."""
    result = fit(meta, hw, n_ctx=settings.n_ctx, n_gpu_layers=settings.n_gpu_layers,
                 kv_type=settings.kv_cache_type, n_batch=settings.n_batch,
                 swa_full=settings.swa_full, n_seq=settings.slots(meta.sliding_window),
                 reclaim_bytes=reclaim_bytes)
    if result.verdict != "too_large":
        return LoadCheck(True, False, result.reason, result)
    return LoadCheck(override, override, result.reason, result)


def require_fit(meta: ModelMeta, settings: LoadSettings, hw: HardwareInfo, *,
                override: bool = False, reclaim_bytes: int = 0) -> LoadCheck:
    """:func:`check_load` that raises :class:`MemoryRefusedError` on a refusal."""
    check = check_load(meta, settings, hw, override=override, reclaim_bytes=reclaim_bytes)
    if not check.allowed:
        raise MemoryRefusedError(
            f"refusing to load: {check.reason} (override to load anyway)", check.fit)
    return check
