"""The estimator's arithmetic and verdicts (no model load needed)."""

from __future__ import annotations

import dataclasses

import pytest

from fireside.core.errors import FiresideError
from fireside.core.hardware import estimate
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

from .helpers import GiB, machine, nvidia

MiB = 2**20


def test_starter_shape_is_what_the_hand_computation_assumes(starter_meta: ModelMeta) -> None:
    assert (starter_meta.block_count, starter_meta.head_count_kv,
            starter_meta.key_length, starter_meta.value_length) == (30, 3, 64, 64)


@pytest.mark.parametrize(("kv_type", "ctx", "expected"), [
    # layers x ctx x kv_heads x head_dim x (K and V) x bytes per element
    ("f16", 512, 30 * 512 * 3 * 64 * 2 * 2),  # 11,796,480 = 11.25 MiB
    ("f16", 2048, 30 * 2048 * 3 * 64 * 2 * 2),  # 45 MiB
    ("f16", 8192, 30 * 8192 * 3 * 64 * 2 * 2),  # 188,743,680 = 180 MiB
    ("q8_0", 8192, 30 * 8192 * (3 * 64 // 32 * 34) * 2),  # 34 bytes per 32 values
    ("q4_0", 8192, 30 * 8192 * (3 * 64 // 32 * 18) * 2),  # 18 bytes per 32 values
    ("f16", 1000, 30 * 1024 * 3 * 64 * 2 * 2),  # llama.cpp pads the cache to 256 cells
])
def test_kv_cache_bytes_exactly_as_the_formula(starter_meta: ModelMeta, kv_type: str, ctx: int,
                                               expected: int) -> None:
    est = estimate.estimate(starter_meta, ctx, kv_type=kv_type)
    assert est.kv_cache_bytes == expected
    assert est.kv_cpu_bytes == expected and est.kv_gpu_bytes == 0


def test_hand_figures(starter_meta: ModelMeta) -> None:
    assert estimate.estimate(starter_meta, 8192).kv_cache_bytes == 188_743_680
    assert estimate.estimate(starter_meta, 8192, kv_type="q8_0").kv_cache_bytes == 100_270_080
    assert estimate.estimate(starter_meta, 8192, kv_type="q4_0").kv_cache_bytes == 53_084_160


def test_gqa_uses_kv_heads_not_attention_heads(starter_meta: ModelMeta) -> None:
    mha = dataclasses.replace(starter_meta, head_count_kv=starter_meta.head_count)  # 9 heads
    ratio = (estimate.estimate(mha, 4096).kv_cache_bytes
             / estimate.estimate(starter_meta, 4096).kv_cache_bytes)
    assert ratio == 3.0


def test_sliding_window_layers_keep_window_plus_ubatch(starter_meta: ModelMeta) -> None:
    swa = dataclasses.replace(starter_meta, sliding_window=1024, sliding_window_layers=20)
    full = estimate.estimate(swa, 8192, swa_full=True).kv_cache_bytes
    assert full == estimate.estimate(starter_meta, 8192).kv_cache_bytes  # llama.cpp's default
    small = estimate.estimate(swa, 8192, swa_full=False).kv_cache_bytes
    per_cell = 3 * 64 * 2 * 2
    assert small == per_cell * (10 * 8192 + 20 * (1024 + 512))


def test_unknown_kv_type_is_a_clear_error(starter_meta: ModelMeta) -> None:
    with pytest.raises(FiresideError, match="KV cache type"):
        estimate.estimate(starter_meta, 512, kv_type="q2_k")


def test_total_is_the_sum_of_the_parts(starter_meta: ModelMeta) -> None:
    e = estimate.estimate(starter_meta, 2048)
    assert e.total_bytes == e.weights_bytes + e.kv_cache_bytes + e.overhead_bytes
    assert e.weights_bytes == starter_meta.weights_bytes
    assert e.peak_ram_bytes > e.ram_bytes == e.total_bytes


def test_gpu_layers_move_weights_and_kv_to_vram(starter_meta: ModelMeta) -> None:
    cpu = estimate.estimate(starter_meta, 2048)
    # 16 of 31 "layers": the output layer and blocks 15..29 (llama.cpp offloads from the end).
    half = estimate.estimate(starter_meta, 2048, n_gpu_layers=16)
    assert half.weights_gpu_bytes > sum(starter_meta.layer_bytes[15:])
    # Tied embeddings: token_embd stays on the CPU, the output matrix is duplicated on the GPU.
    assert half.weights_cpu_bytes == sum(starter_meta.layer_bytes[:15]) + starter_meta.output_bytes
    assert half.kv_gpu_bytes == half.kv_cpu_bytes == cpu.kv_cache_bytes // 2
    full = estimate.estimate(starter_meta, 2048, n_gpu_layers=-1)
    assert full.n_gpu_layers == 31 and full.kv_cpu_bytes == 0
    assert full.vram_bytes > estimate.GPU_CONTEXT_BYTES


def test_cpu_only_machine(starter_meta: ModelMeta) -> None:
    fit = estimate.fit(starter_meta, machine(), n_ctx=8192)
    assert (fit.verdict, fit.gpu_layers, fit.max_context) == ("cpu_only", 0, 8192)


def test_requested_gpu_layers_are_ignored_without_offload(starter_meta: ModelMeta) -> None:
    fit = estimate.fit(starter_meta, machine(gpus=[nvidia(8 * GiB)], offload=False),
                       n_ctx=2048, n_gpu_layers=-1)
    assert fit.verdict == "cpu_only" and fit.estimate.vram_bytes == 0


def test_fits_gpu_and_partial_offload(starter_meta: ModelMeta) -> None:
    big = estimate.fit(starter_meta, machine(gpus=[nvidia(8 * GiB)]), n_ctx=2048)
    assert (big.verdict, big.gpu_layers) == ("fits_gpu", 31)
    # Just enough VRAM for the context + compute buffers and a few layers.
    e_all = estimate.estimate(starter_meta, 2048, n_gpu_layers=31)
    e_few = estimate.estimate(starter_meta, 2048, n_gpu_layers=10)
    budget = (e_all.vram_bytes + e_few.vram_bytes) // 2
    small = estimate.fit(starter_meta, machine(gpus=[nvidia(int(budget / 0.95))]), n_ctx=2048)
    assert small.verdict == "partial_offload" and 10 <= small.gpu_layers < 31
    assert estimate.estimate(starter_meta, 2048,
                             n_gpu_layers=small.gpu_layers + 1).vram_bytes > budget * 0.999


def test_too_large_and_max_context(starter_meta: ModelMeta) -> None:
    need_2k = estimate.estimate(starter_meta, 2048).peak_ram_bytes
    hw = machine(ram_avail=need_2k + 1 * MiB)
    hw = dataclasses.replace(hw, ram_total_bytes=hw.ram_available_bytes)  # headroom = 5%
    fit = estimate.fit(starter_meta, hw, n_ctx=8192)
    assert fit.verdict == "too_large"
    assert 0 < fit.max_context < 8192 and fit.max_context % 256 == 0
    assert "context of at most" in fit.reason
    ok = estimate.fit(starter_meta, hw, n_ctx=fit.max_context)
    assert ok.verdict == "cpu_only"
    over = estimate.fit(starter_meta, hw, n_ctx=fit.max_context + 256)
    assert over.verdict == "too_large"


def test_nothing_fits_gives_zero_max_context(starter_meta: ModelMeta) -> None:
    fit = estimate.fit(starter_meta, machine(ram_avail=10 * MiB), n_ctx=512)
    assert (fit.verdict, fit.max_context) == ("too_large", 0)


def test_refusal_and_override(starter_meta: ModelMeta) -> None:
    tiny = machine(ram_avail=50 * MiB)
    settings = LoadSettings(n_ctx=8192)
    check = estimate.check_load(starter_meta, settings, tiny)
    assert not check.allowed and not check.overridden
    assert "RAM" in check.reason and "8192" in check.reason
    with pytest.raises(estimate.MemoryRefusedError, match="refusing to load") as info:
        estimate.require_fit(starter_meta, settings, tiny)
    assert info.value.fit.verdict == "too_large"
    forced = estimate.require_fit(starter_meta, settings, tiny, override=True)
    assert forced.allowed and forced.overridden and forced.reason
    roomy = estimate.check_load(starter_meta, settings, machine())
    assert roomy.allowed and not roomy.overridden


def test_reclaimed_memory_of_the_current_model_counts(starter_meta: ModelMeta) -> None:
    need = estimate.estimate(starter_meta, 2048).peak_ram_bytes
    hw = machine(ram_avail=need // 2)
    hw = dataclasses.replace(hw, ram_total_bytes=hw.ram_available_bytes)
    settings = LoadSettings(n_ctx=2048)
    assert not estimate.check_load(starter_meta, settings, hw).allowed
    assert estimate.check_load(starter_meta, settings, hw, reclaim_bytes=need).allowed


def test_unified_memory_counts_once(starter_meta: ModelMeta) -> None:
    from fireside.core.hardware.probe import GpuInfo

    apple = GpuInfo(0, "Apple GPU", "apple", 12 * GiB, 0, 12 * GiB, unified_memory=True)
    fit = estimate.fit(starter_meta, machine(ram_avail=16 * GiB, gpus=[apple]), n_ctx=8192)
    assert fit.verdict == "fits_gpu"
