"""packaging/llama_backend.sh: the backend setup.sh picks, with the machine faked on PATH.

Each case runs bash with a PATH of stand-in commands (nvidia-smi, hipconfig, glslc, uname, ...)
plus symlinks to the few real tools the script uses, so what this machine has does not leak in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "llama_backend.sh"
SETUP = ROOT / "packaging" / "setup.sh"
REAL_TOOLS = ("bash", "tr", "grep", "sort", "paste", "cat", "dirname", "basename")
CPU_CFLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"


def _machine(tmp_path: Path, fakes: dict[str, str], files: tuple[str, ...] = ()) -> dict[str, str]:
    """An environment whose PATH holds only ``fakes`` (name -> script body) and real basics."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real, tool
        (bin_dir / tool).symlink_to(real)
    fakes = {"uname": "echo Linux", **fakes}
    for name, body in fakes.items():
        path = bin_dir / name
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        path.chmod(0o755)
    root = tmp_path / "root"
    for rel in files:
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("fake\n")
        f.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "FIRESIDE_DETECT_ROOT": str(root)}
    return env


def _sh(env: dict[str, str], snippet: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run([bash, "-c", f'source "{SCRIPT}"; {snippet}'], env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def _detect(env: dict[str, str]) -> str:
    out = _sh(env, "fireside_detect_backend")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


NVIDIA_SMI = """case "$*" in
  -L) echo "GPU 0: NVIDIA H100 (UUID: GPU-x)";;
  *compute_cap*) echo "9.0"; echo "8.6";;
esac"""


@pytest.mark.parametrize(("fakes", "files", "want"), [
    ({}, (), "cpu"),
    ({"uname": "echo Darwin"}, (), "metal"),
    ({"nvidia-smi": NVIDIA_SMI}, (), "cuda"),
    ({}, ("proc/driver/nvidia/version",), "cuda"),  # a driver without nvidia-smi
    ({"nvidia-smi": "exit 9"}, (), "cpu"),  # nvidia-smi installed, driver not loaded
    ({"hipconfig": "echo /opt/rocm"}, (), "hip"),
    ({}, ("opt/rocm/bin/hipconfig",), "hip"),
    ({"glslc": "true", "pkg-config": "true"}, (), "vulkan"),
    ({"glslc": "true", "pkg-config": "exit 1"}, (), "cpu"),  # glslc without the headers
    ({"nvidia-smi": NVIDIA_SMI, "glslc": "true", "pkg-config": "true"}, (), "cuda"),
])
def test_detection(tmp_path: Path, fakes: dict[str, str], files: tuple[str, ...],
                   want: str) -> None:
    assert _detect(_machine(tmp_path, fakes, files)) == want


@pytest.mark.parametrize("backend", ["cpu", "cuda", "metal", "vulkan", "hip"])
def test_override_wins(tmp_path: Path, backend: str) -> None:
    env = _machine(tmp_path, {"nvidia-smi": NVIDIA_SMI})
    assert _detect({**env, "FIRESIDE_LLAMA_BACKEND": backend}) == backend


def test_bad_override_is_refused(tmp_path: Path) -> None:
    env = {**_machine(tmp_path, {}), "FIRESIDE_LLAMA_BACKEND": "opencl"}
    out = _sh(env, "fireside_detect_backend")
    assert out.returncode == 2
    assert "cpu cuda metal vulkan hip" in out.stderr


def test_cmake_args_and_cuda_archs(tmp_path: Path) -> None:
    env = _machine(tmp_path, {"nvidia-smi": NVIDIA_SMI})
    out = _sh(env, 'for b in cpu cuda metal vulkan hip; do echo "$b=[$(fireside_cmake_args $b)]"; '
                   "done")
    assert out.stdout.split("\n")[:5] == [
        "cpu=[]", "cuda=[-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=86;90]",
        "metal=[-DGGML_METAL=on]", "vulkan=[-DGGML_VULKAN=on]", "hip=[-DGGML_HIP=on]"]
    no_smi = _machine(tmp_path / "b", {})
    assert _sh(no_smi, "fireside_cuda_archs").stdout.strip() == "native"


def test_cpu_stamp_is_unchanged_and_backends_differ(tmp_path: Path) -> None:
    """Existing CPU venvs and pip caches keep their stamp: no rebuild for them."""
    env = _machine(tmp_path, {})
    cpu = _sh(env, f'fireside_llama_stamp cpu "" "{CPU_CFLAGS}"').stdout.strip()
    assert cpu == f"llama-cpp-python==0.3.36 cpu native CFLAGS=[{CPU_CFLAGS}]"
    cuda = _sh(env, f'fireside_llama_stamp cuda "-DGGML_CUDA=on" "{CPU_CFLAGS}"').stdout.strip()
    assert cuda != cpu and "cuda" in cuda and "-DGGML_CUDA=on" in cuda


def test_nvcc_search_order(tmp_path: Path) -> None:
    env = _machine(tmp_path, {}, ("usr/local/cuda/bin/nvcc",))
    out = _sh(env, "fireside_find_nvcc")
    assert out.stdout.strip() == str(tmp_path / "root/usr/local/cuda/bin/nvcc")
    env = _machine(tmp_path / "b", {"nvcc": "true"})
    assert _sh(env, "fireside_find_nvcc").stdout.strip().endswith("bin/nvcc")
    env = _machine(tmp_path / "c", {})
    assert _sh(env, "fireside_find_nvcc").returncode == 1


def test_nvcc_from_toolkit_wheels(tmp_path: Path) -> None:
    """The nvidia-cuda-*-cu12 wheels' folders merge into one toolkit root CMake can use."""
    venv = tmp_path / "venv"
    site = venv / "lib/python3.11/site-packages/nvidia"
    for rel in ("cuda_nvcc/bin/nvcc", "cuda_nvcc/include/crt/host_config.h",
                "cuda_runtime/include/cuda_runtime.h", "cuda_runtime/lib/libcudart.so.12",
                "cublas/lib/libcublas.so.12"):
        f = site / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
        f.chmod(0o755)
    env = _machine(tmp_path, {})
    env["PATH"] += os.pathsep + "/usr/bin:/bin"  # cp, ln, rm, mkdir
    out = _sh(env, f'fireside_cuda_from_wheels "{venv}" && fireside_find_nvcc "{venv}"')
    assert out.returncode == 0, out.stderr
    root = venv / "cuda-toolkit"
    assert out.stdout.split() == [str(root / "bin/nvcc")] * 2
    assert (root / "include/cuda_runtime.h").exists()
    assert (root / "lib64/libcudart.so").resolve() == (root / "lib/libcudart.so.12").resolve()
    assert (root / "lib/libcublas.so").exists()


def test_setup_sources_the_detection() -> None:
    text = SETUP.read_text()
    assert 'source "$ROOT/packaging/llama_backend.sh"' in text
    assert "fireside_llama_stamp" in text and "CMAKE_ARGS" in text


def test_no_amx_cflags_on_x86_64_only(tmp_path: Path) -> None:
    x86 = _machine(tmp_path, {"uname": '[[ "$1" == -m ]] && echo x86_64 || echo Linux'})
    assert _sh(x86, "fireside_llama_cflags").stdout.strip() == CPU_CFLAGS
    arm = _machine(tmp_path / "arm", {"uname": '[[ "$1" == -m ]] && echo aarch64 || echo Linux'})
    assert _sh(arm, "fireside_llama_cflags").stdout.strip() == ""
