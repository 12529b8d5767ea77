"""Synthetic machines: the verdict logic is tested on hardware this box does not have."""

from __future__ import annotations

from fireside.core.hardware.probe import GpuInfo, HardwareInfo

GiB = 2**30


def machine(ram_avail: int = 16 * GiB, gpus: list[GpuInfo] | None = None,
            offload: bool = True) -> HardwareInfo:
    """A made-up machine: the verdict logic is tested on hardware this box does not have."""
    return HardwareInfo(
        cpu_model="test", cpu_physical_cores=8, cpu_logical_cores=16,
        ram_total_bytes=max(ram_avail, 32 * GiB), ram_available_bytes=ram_avail,
        process_rss_bytes=0, gpus=gpus or [], backends={"gpu_offload": offload})


def nvidia(total: int, used: int = 0, index: int = 0) -> GpuInfo:
    return GpuInfo(index, "Test GPU", "nvidia", total, used, total - used)
