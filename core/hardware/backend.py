"""Which backend the installed llama.cpp was built with, and what to do when it cannot use a GPU.

llama-cpp-python decides CPU vs CUDA/Metal/Vulkan/HIP at *build* time, so a person with a
gaming GPU and a CPU wheel silently gets CPU speed. ggml's backend registry (``libggml``, which
llama-cpp-python ships beside ``libllama``) lists what was compiled in; its Python bindings do
not wrap it, so the few functions are bound here with ctypes. Nothing here raises: a missing or
odd library reports ``cpu`` with the reason in ``error``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("fireside.hardware")

#: ggml registry names -> the FIRESIDE_LLAMA_BACKEND value that builds them.
REGISTRY_TO_BACKEND = {"cuda": "cuda", "metal": "metal", "vulkan": "vulkan", "rocm": "hip",
                       "hip": "hip", "cpu": "cpu"}
#: GPU vendor (probe.GpuInfo.vendor) -> the backend that drives it.
VENDOR_TO_BACKEND = {"nvidia": "cuda", "amd": "hip", "apple": "metal"}
#: CMake flag per backend, for installs that are not a source checkout.
CMAKE_FLAG = {"cuda": "-DGGML_CUDA=on", "metal": "-DGGML_METAL=on", "vulkan": "-DGGML_VULKAN=on",
              "hip": "-DGGML_HIP=on"}
DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def _bind(lib: Any) -> None:
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.ggml_backend_reg_count.restype = sz
    lib.ggml_backend_reg_get.argtypes = [sz]
    lib.ggml_backend_reg_get.restype = vp
    lib.ggml_backend_reg_name.argtypes = [vp]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    lib.ggml_backend_dev_count.restype = sz
    lib.ggml_backend_dev_get.argtypes = [sz]
    lib.ggml_backend_dev_get.restype = vp
    for fn in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, fn).argtypes = [vp]
        getattr(lib, fn).restype = ctypes.c_char_p
    lib.ggml_backend_dev_type.argtypes = [vp]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_memory.argtypes = [vp, ctypes.POINTER(sz), ctypes.POINTER(sz)]
    lib.ggml_backend_dev_memory.restype = None


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def registry() -> dict[str, Any]:
    """ggml's compiled-in backends and devices: ``{"backend": "cuda", "registries": ["CUDA",
    "CPU"], "devices": [{name, description, type, free_bytes, total_bytes}]}``."""
    try:
        from llama_cpp import _ggml  # loads libggml from llama_cpp/lib, as llama_cpp does

        lib = _ggml.libggml
        _bind(lib)
        regs = [_text(lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)))
                for i in range(int(lib.ggml_backend_reg_count()))]
        devices = []
        for i in range(int(lib.ggml_backend_dev_count())):
            dev = lib.ggml_backend_dev_get(i)
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
            devices.append({
                "name": _text(lib.ggml_backend_dev_name(dev)),
                "description": _text(lib.ggml_backend_dev_description(dev)),
                "type": DEVICE_TYPES.get(int(lib.ggml_backend_dev_type(dev)), "unknown"),
                "free_bytes": int(free.value), "total_bytes": int(total.value)})
    except Exception as exc:  # no llama_cpp, an old libggml without the registry, ...
        log.debug("ggml registry unavailable: %s", exc)
        return {"backend": "cpu", "registries": [], "devices": [], "error": str(exc)}
    built = [REGISTRY_TO_BACKEND.get(r.lower(), r.lower()) for r in regs]
    gpu = [b for b in built if b not in {"cpu", "blas", "rpc"}]
    return {"backend": gpu[0] if gpu else "cpu", "registries": regs, "devices": devices}


def source_checkout() -> Path | None:
    """The repo root when Fireside runs from a source checkout (packaging/setup.sh beside it)."""
    here = Path(__file__).resolve()
    for parent in here.parents[:4]:
        if (parent / "packaging" / "setup.sh").is_file() and (parent / "pyproject.toml").is_file():
            return parent
    return None


DETECT = Path("<detect>")  # fix_command's default: find out how Fireside was installed


def fix_command(backend: str, checkout: Path | None = DETECT) -> str:
    """The one command that rebuilds llama.cpp for ``backend`` in this install: setup.sh in a
    source checkout, build.sh for the frozen bundle, else pip with the backend's CMake flag."""
    if getattr(sys, "frozen", False):
        return f"FIRESIDE_LLAMA_BACKEND={backend} bash packaging/build.sh (in a source checkout)"
    if checkout == DETECT:
        checkout = source_checkout()
    if checkout is not None:
        return f"FIRESIDE_LLAMA_BACKEND={backend} bash {checkout / 'packaging' / 'setup.sh'}"
    flag = CMAKE_FLAG.get(backend, "")
    python = os.environ.get("FIRESIDE_PYTHON", "python -m pip")
    return (f'CMAKE_ARGS="{flag}" {python} install --force-reinstall --no-cache-dir --no-deps '
            f"llama-cpp-python==0.3.36")


def gpu_warning(gpus: list[Any], backends: dict[str, Any],
                checkout: Path | None = DETECT) -> str | None:
    """A warning when this machine has a GPU the installed llama.cpp cannot offload to."""
    if not gpus or not backends.get("available", True) or backends.get("gpu_offload"):
        return None
    gpu = gpus[0]
    want = VENDOR_TO_BACKEND.get(getattr(gpu, "vendor", ""), "vulkan")
    built = backends.get("backend", "cpu")
    return (f"{gpu.name} is here, but this llama.cpp was built for {built.upper()} only, so "
            f"models run on the CPU. Rebuild it for {want.upper()}: "
            f"{fix_command(want, checkout)}")
