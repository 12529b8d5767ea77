"""The estimator against llama.cpp itself, on tiny synthetic GGUFs of several architectures.

Each file is loaded in a fresh process (``measure_fresh``, the engine's defaults: 8 slots, or
4 with a sliding window, flash attention, window-sized SWA caches) and llama.cpp's own "KV
buffer size" and "compute buffer size" are held against the prediction. Reproduces issue
17's findings: OpenELM's per-layer head counts were charged at their maximum, gemma2/gemma3
files without a pattern key got no sliding-window layers, and the compute buffer did not grow
with the context.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fireside.core.hardware import estimate
from fireside.core.hardware.measure import measure_fresh
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import read_meta

from .synthetic import SHAPES, write

CTX = 4096


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    return {name: write(root / f"{name}.gguf", arch, **kw) for name, (arch, kw) in SHAPES.items()}


def _close(predicted: int, measured: int, tolerance: float = 0.05) -> bool:
    # llama.cpp logs MiB with two decimals: allow that rounding on top of the tolerance.
    return abs(predicted - measured) <= tolerance * measured + 0.005 * 2**20


@pytest.mark.parametrize("name", list(SHAPES))
def test_kv_and_compute_match_llama_cpp_in_a_fresh_process(files: dict[str, Path],
                                                           name: str) -> None:
    meta = read_meta(files[name])
    settings = LoadSettings(n_ctx=CTX)
    predicted = estimate.estimate(meta, CTX, swa_full=settings.swa_full,
                                  n_seq=settings.slots(meta.sliding_window))
    buffers = measure_fresh(files[name], settings, tokens=2)["llama_buffers"]
    assert _close(predicted.kv_cache_bytes, buffers["CPU KV"]), (predicted, buffers)
    assert _close(predicted.compute_buffer_bytes, buffers["CPU compute"]), (predicted, buffers)


def test_per_layer_head_counts_are_charged_per_layer(files: dict[str, Path]) -> None:
    meta = read_meta(files["openelm-per-layer-heads"])
    assert meta.head_count_kv_layers == (1, 1, 2, 2, 4, 4)
    per_layer = estimate.estimate(meta, 32768).kv_cache_bytes
    at_max = estimate.estimate(dataclasses.replace(meta, head_count_kv_layers=()), 32768)
    assert at_max.kv_cache_bytes / per_layer == pytest.approx(24 / 14)  # +71% before the fix


def test_gemma_files_without_a_pattern_key_get_llama_cpps_built_in_pattern(
        files: dict[str, Path], tmp_path: Path) -> None:
    g2 = read_meta(files["gemma2-builtin-pattern"])
    assert g2.swa_layer_flags == (True, False) * 3 and g2.sliding_window == 256
    g3 = read_meta(files["gemma3-builtin-pattern"])
    assert g3.swa_layer_flags == (True,) * 5 + (False,)
    # gemma2 without a window key: llama.cpp's default window, 4096
    bare = read_meta(write(tmp_path / "bare.gguf", "gemma2"))
    assert bare.sliding_window == 4096 and bare.sliding_window_layers == 3
    # gemma3 without a window: no sliding layers at all (llama.cpp's SWA_TYPE_NONE)
    assert read_meta(write(tmp_path / "g3.gguf", "gemma3")).swa_layer_flags == ()


def test_window_caches_are_sized_per_sequence_and_swa_full_keeps_them_full(
        files: dict[str, Path]) -> None:
    meta = read_meta(files["gemma3-builtin-pattern"])  # window 512, 5 of 6 layers slide
    full = estimate.estimate(meta, 32768, swa_full=True).kv_cache_bytes
    one = estimate.estimate(meta, 32768, n_seq=1).kv_cache_bytes
    four = estimate.estimate(meta, 32768, n_seq=4).kv_cache_bytes
    per_cell = full // (6 * 32768)
    assert one == per_cell * (32768 + 5 * 1024)  # 512 + one ubatch, padded to 256
    assert four == per_cell * (32768 + 5 * 2560)  # 4 x 512 + 512
    assert full > 2.5 * four


def test_compute_buffer_grows_with_context_when_the_mask_dominates(
        files: dict[str, Path]) -> None:
    meta = read_meta(files["llama-gqa"])
    small = estimate.estimate(meta, 1024).compute_buffer_bytes
    big = estimate.estimate(meta, 8192).compute_buffer_bytes
    assert big - small == 2 * 512 * (8192 - 1024)  # one f16 mask cell per ubatch token


def test_the_default_slot_count_is_8_or_4_with_a_sliding_window(files: dict[str, Path]) -> None:
    """``parallel`` 0: 8 slots where they cost no memory; llama-server's 4 where every slot
    adds a window to the sliding-window cache; a number the user set is kept."""
    eng = Engine()
    try:
        for name, want in (("llama-gqa", 8), ("gemma3-builtin-pattern", 4)):
            eng.load(files[name], LoadSettings(n_ctx=1024))
            assert len(eng.slots()) == want, name
        eng.load(files["gemma3-builtin-pattern"], LoadSettings(n_ctx=1024, parallel=3))
        assert len(eng.slots()) == 3
    finally:
        eng.unload()
