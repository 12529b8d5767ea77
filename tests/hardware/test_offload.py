"""--gpu-layers N|max|auto, the backend name and the "GPU unused" warning."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.core.hardware import backend, offload, probe
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

from .helpers import GiB, machine, nvidia


@pytest.mark.parametrize(("text", "want"), [
    ("auto", None), ("AUTO", None), ("max", -1), ("all", -1), ("-1", -1), ("0", 0), ("12", 12)])
def test_parse(text: str, want: int | None) -> None:
    assert offload.parse_gpu_layers(text) == want


@pytest.mark.parametrize("text", ["-2", "lots", "1.5", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        offload.parse_gpu_layers(text)


def test_auto_on_a_cpu_only_machine_is_zero_and_says_so(starter_meta: ModelMeta) -> None:
    got = offload.resolve(offload.AUTO, starter_meta, LoadSettings(), machine())
    assert got.n_gpu_layers == 0 and "no GPU found" in got.message
    assert got.obvious  # the command line leaves it out: a refusal stays one line


def test_auto_with_a_gpu_the_build_cannot_use(starter_meta: ModelMeta) -> None:
    hw = machine(gpus=[nvidia(8 * GiB)], offload=False)
    got = offload.resolve(offload.AUTO, starter_meta, LoadSettings(), hw)
    assert got.n_gpu_layers == 0 and "cannot offload" in got.message


def test_auto_puts_what_fits_on_the_gpu(starter_meta: ModelMeta) -> None:
    big = offload.resolve(offload.AUTO, starter_meta, LoadSettings(n_ctx=2048),
                          machine(gpus=[nvidia(8 * GiB)]))
    assert big.n_gpu_layers == starter_meta.block_count + 1 and "all 31" in big.message
    small = offload.resolve(offload.AUTO, starter_meta, LoadSettings(n_ctx=2048),
                            machine(gpus=[nvidia(int(0.5 * GiB), used=0)]))
    assert 0 < small.n_gpu_layers < 31 and "the rest on the CPU" in small.message


def test_explicit_counts_pass_through(starter_meta: ModelMeta) -> None:
    assert offload.resolve(7, starter_meta, LoadSettings(), machine()).n_gpu_layers == 7
    assert offload.resolve(-1, None, LoadSettings(), machine()).message == ""


def test_this_build_names_its_backend() -> None:
    reg = backend.registry()
    assert reg["backend"] in ("cpu", "cuda", "metal", "vulkan", "hip"), reg
    assert "CPU" in reg["registries"] and any(d["type"] == "cpu" for d in reg["devices"])
    info = probe.llama_backends()
    assert info["backend"] == reg["backend"]
    assert bool(info["gpu_offload"]) == (reg["backend"] != "cpu")


def test_warning_names_the_gpu_and_the_one_fix(tmp_path: Path) -> None:
    gpus = [nvidia(8 * GiB)]
    text = backend.gpu_warning(gpus, {"available": True, "gpu_offload": False,
                                      "backend": "cpu"}, checkout=tmp_path)
    assert text is not None and "Test GPU" in text and "CPU only" in text
    assert f"FIRESIDE_LLAMA_BACKEND=cuda bash {tmp_path}/packaging/setup.sh" in text
    assert backend.gpu_warning(gpus, {"available": True, "gpu_offload": True}) is None
    assert backend.gpu_warning([], {"available": True, "gpu_offload": False}) is None
    outside = backend.fix_command("hip", checkout=None)
    assert 'CMAKE_ARGS="-DGGML_HIP=on"' in outside and "llama-cpp-python==0.3.36" in outside


def test_cli_flags() -> None:
    for cmd in ("run", "serve", "bench", "fit"):
        out = subprocess.run([sys.executable, "-m", "fireside", cmd, "--help"],
                             capture_output=True, text=True, timeout=60, check=True)
        assert "--gpu-layers N|max|auto" in out.stdout, cmd
    bad = subprocess.run([sys.executable, "-m", "fireside", "run", "starter", "x",
                          "--gpu-layers", "lots"], capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2 and "use a layer count, `max` or `auto`" in bad.stderr


def test_device_split_adds_up_and_follows_free_vram(starter_meta: ModelMeta) -> None:
    from fireside.core.hardware import estimate

    one = machine(gpus=[nvidia(8 * GiB)])
    half = estimate.estimate(starter_meta, 2048, n_gpu_layers=15)
    cpu, gpu = offload.device_split(starter_meta, half, one)
    assert (cpu.layers, gpu.layers) == (16, 14)  # 14 blocks + the output layer
    assert cpu.total_bytes == half.ram_bytes and gpu.total_bytes == half.vram_bytes
    full = estimate.estimate(starter_meta, 2048, n_gpu_layers=-1)
    two = machine(gpus=[nvidia(6 * GiB), nvidia(2 * GiB, index=1)])
    cpu, g0, g1 = offload.device_split(starter_meta, full, two)
    assert (cpu.layers, g0.layers, g1.layers) == (0, 22, 8)  # 3:1 by free VRAM
    assert g0.kv_bytes + g1.kv_bytes == full.kv_gpu_bytes
    assert g0.weights_bytes + g1.weights_bytes == full.weights_gpu_bytes
    only_cpu = offload.device_split(starter_meta, estimate.estimate(starter_meta, 2048), one)
    assert [d.device for d in only_cpu] == ["CPU"]


def test_models_never_configured_get_auto_layers(starter_meta: ModelMeta) -> None:
    saved = {"chosen": LoadSettings(n_gpu_layers=5)}
    assert offload.settings_for(saved, "chosen", starter_meta).n_gpu_layers == 5
    fresh = offload.settings_for(saved, "new", starter_meta)
    # this box has no usable GPU: auto resolves to the CPU, the rest are the defaults
    assert fresh == LoadSettings(n_gpu_layers=0)
