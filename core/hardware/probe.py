"""What this machine has: CPU, RAM, this process's RSS, GPUs and llama.cpp's offload backends.

Every probe is best-effort: a missing library (no ``pynvml`` driver, no ``amdsmi``), a driver
that fails to initialise or a sysctl that is not there is reported as *absent*, never raised.
The estimator and the hardware panel both read a :class:`HardwareInfo`, so "will it fit?" and
the live charts look at the same figures.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

log = logging.getLogger("fireside.hardware")


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    vendor: str  # "nvidia" | "amd" | "apple"
    vram_total_bytes: int
    vram_used_bytes: int
    vram_free_bytes: int
    unified_memory: bool = False  # Apple: "VRAM" is the same RAM the CPU uses

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HardwareInfo:
    cpu_model: str
    cpu_physical_cores: int
    cpu_logical_cores: int
    ram_total_bytes: int
    ram_available_bytes: int
    process_rss_bytes: int
    gpus: list[GpuInfo] = field(default_factory=list)
    backends: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # why a probe found nothing, for -v users

    @property
    def vram_free_bytes(self) -> int:
        """Free VRAM over dedicated GPUs (unified memory is RAM, counted there)."""
        return sum(g.vram_free_bytes for g in self.gpus if not g.unified_memory)

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu": {"model": self.cpu_model, "physical_cores": self.cpu_physical_cores,
                    "logical_cores": self.cpu_logical_cores},
            "ram": {"total_bytes": self.ram_total_bytes,
                    "available_bytes": self.ram_available_bytes},
            "process": {"pid": os.getpid(), "rss_bytes": self.process_rss_bytes},
            "gpus": [g.to_json() for g in self.gpus],
            "backends": self.backends,
            "notes": self.notes,
        }


def cpu_model() -> str:
    """The marketing name where the OS tells it; ``platform.processor()`` is often empty."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.lower().startswith(("model name", "hardware", "cpu model")):
                        return line.split(":", 1)[1].strip()
        elif sys.platform == "darwin":
            import subprocess

            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=2, check=False)
            if out.stdout.strip():
                return out.stdout.strip()
    except (OSError, ValueError) as exc:
        log.debug("cpu model unknown: %s", exc)
    return platform.processor() or platform.machine() or "unknown"


def process_rss() -> int:
    return int(psutil.Process().memory_info().rss)


def nvidia_gpus(nvml: Any = None, notes: list[str] | None = None) -> list[GpuInfo]:
    """Per-GPU VRAM from NVML; [] when the library or the driver is absent.

    ``nvml`` is the ``pynvml`` module (injectable so tests can simulate a failing driver).
    """
    notes = notes if notes is not None else []
    if nvml is None:
        try:
            import pynvml

            nvml = pynvml
        except ImportError:
            notes.append("nvidia: nvidia-ml-py not installed")
            return []
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        notes.append(f"nvidia: NVML unavailable ({exc})")
        return []
    gpus: list[GpuInfo] = []
    try:
        for i in range(int(nvml.nvmlDeviceGetCount())):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                name = nvml.nvmlDeviceGetName(handle)
                if isinstance(name, bytes):
                    name = name.decode("utf-8", "replace")
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)
                gpus.append(GpuInfo(i, str(name), "nvidia", int(mem.total), int(mem.used),
                                    int(mem.free)))
            except Exception as exc:  # one bad device (e.g. MIG, lost) must not hide others
                notes.append(f"nvidia: GPU {i} unreadable ({exc})")
    except Exception as exc:
        notes.append(f"nvidia: NVML query failed ({exc})")
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)
    return gpus


def amd_gpus(notes: list[str] | None = None) -> list[GpuInfo]:
    """AMD VRAM through ``amdsmi`` (ROCm's Python binding) when it is installed."""
    notes = notes if notes is not None else []
    try:
        import amdsmi
    except ImportError:
        notes.append("amd: amdsmi not installed")
        return []
    gpus: list[GpuInfo] = []
    try:
        amdsmi.amdsmi_init()
        try:
            for i, handle in enumerate(amdsmi.amdsmi_get_processor_handles()):
                total = int(amdsmi.amdsmi_get_gpu_memory_total(
                    handle, amdsmi.AmdSmiMemoryType.VRAM))
                used = int(amdsmi.amdsmi_get_gpu_memory_usage(
                    handle, amdsmi.AmdSmiMemoryType.VRAM))
                try:
                    name = str(amdsmi.amdsmi_get_gpu_asic_info(handle).get("market_name", ""))
                except Exception:
                    name = ""
                gpus.append(GpuInfo(i, name or f"AMD GPU {i}", "amd", total, used,
                                    max(0, total - used)))
        finally:
            amdsmi.amdsmi_shut_down()
    except Exception as exc:
        notes.append(f"amd: amdsmi failed ({exc})")
    return gpus


def apple_gpus(ram_total: int, ram_available: int) -> list[GpuInfo]:
    """Apple Silicon: the GPU shares RAM; Metal may use about 2/3-3/4 of it by default."""
    if not (platform.system() == "Darwin" and platform.machine() == "arm64"):
        return []
    # Metal's recommendedMaxWorkingSetSize is ~75% of RAM on >=36 GB machines, ~67% below.
    share = 0.75 if ram_total >= 36 * 2**30 else 0.67
    total = int(ram_total * share)
    used = max(0, ram_total - ram_available)
    return [GpuInfo(0, "Apple GPU (unified memory)", "apple", total, min(used, total),
                    max(0, total - used), unified_memory=True)]


def llama_backends() -> dict[str, Any]:
    """What this llama.cpp build can do; empty fields when llama_cpp cannot be imported."""
    try:
        import llama_cpp
    except Exception as exc:  # a broken wheel must not break `fireside hw`
        return {"available": False, "error": str(exc)}
    info: dict[str, Any] = {"available": True, "version": getattr(llama_cpp, "__version__", "")}
    for key, fn in (("gpu_offload", "llama_supports_gpu_offload"), ("mmap", "llama_supports_mmap"),
                    ("mlock", "llama_supports_mlock"), ("rpc", "llama_supports_rpc")):
        try:
            info[key] = bool(getattr(llama_cpp, fn)())
        except Exception:
            info[key] = None
    from fireside.core.hardware.backend import registry

    info.update(registry())  # "backend": cpu|cuda|metal|vulkan|hip, ggml's devices
    try:
        info["system_info"] = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    except Exception:
        info["system_info"] = ""
    return info


def probe(*, include_backends: bool = True, nvml: Any = None) -> HardwareInfo:
    """A snapshot of the machine. Cheap enough (~ms) to call once a second from a worker."""
    notes: list[str] = []
    vm = psutil.virtual_memory()
    gpus = nvidia_gpus(nvml, notes) + amd_gpus(notes) + apple_gpus(vm.total, vm.available)
    return HardwareInfo(
        cpu_model=cpu_model(),
        cpu_physical_cores=psutil.cpu_count(logical=False) or os.cpu_count() or 1,
        cpu_logical_cores=psutil.cpu_count(logical=True) or os.cpu_count() or 1,
        ram_total_bytes=int(vm.total),
        ram_available_bytes=int(vm.available),
        process_rss_bytes=process_rss(),
        gpus=gpus,
        backends=llama_backends() if include_backends else {},
        notes=notes,
    )
