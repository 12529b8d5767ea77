"""Hardware probing: real figures for this machine, absent GPUs reported as absent."""

from __future__ import annotations

import sys
import types

import psutil
import pytest

from fireside.core.hardware import probe


def test_this_machine() -> None:
    hw = probe.probe()
    assert hw.ram_total_bytes == psutil.virtual_memory().total
    assert 0 < hw.ram_available_bytes <= hw.ram_total_bytes
    assert hw.process_rss_bytes > 10 * 2**20
    assert hw.cpu_physical_cores >= 1 and hw.cpu_model
    assert hw.backends["available"] is True and hw.backends["gpu_offload"] is False


def test_no_nvidia_here_is_an_empty_list_not_an_error() -> None:
    notes: list[str] = []
    assert probe.nvidia_gpus(notes=notes) == []
    assert notes and notes[0].startswith("nvidia:")
    assert probe.probe().gpus == []


class _NVMLError(Exception):
    pass


def _fake_nvml(*, init_fails: bool = False, bad_device: int | None = None) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    calls: list[str] = []

    def init() -> None:
        calls.append("init")
        if init_fails:
            raise _NVMLError("Driver Not Loaded")

    def handle(i: int) -> int:
        if i == bad_device:
            raise _NVMLError("GPU is lost")
        return i

    mod.nvmlInit = init  # type: ignore[attr-defined]
    mod.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    mod.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    mod.nvmlDeviceGetHandleByIndex = handle  # type: ignore[attr-defined]
    mod.nvmlDeviceGetName = lambda h: b"Fake RTX" if h == 0 else "Fake A100"  # type: ignore
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(  # type: ignore
        total=8 * 2**30, used=2**30, free=7 * 2**30)
    mod.calls = calls  # type: ignore[attr-defined]
    return mod


def test_nvml_init_failure_is_reported_as_absent() -> None:
    notes: list[str] = []
    assert probe.nvidia_gpus(_fake_nvml(init_fails=True), notes) == []
    assert "Driver Not Loaded" in notes[0]


def test_nvml_init_failure_through_the_real_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    def boom() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", boom)
    hw = probe.probe()
    assert hw.gpus == [] and any("NVML unavailable" in n for n in hw.notes)


def test_nvml_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    notes: list[str] = []
    assert probe.nvidia_gpus(notes=notes) == []
    assert "not installed" in notes[0]


def test_nvml_devices_are_read_and_a_bad_one_is_skipped() -> None:
    nvml = _fake_nvml(bad_device=1)
    notes: list[str] = []
    gpus = probe.nvidia_gpus(nvml, notes)
    assert [g.name for g in gpus] == ["Fake RTX"]
    assert gpus[0].vram_total_bytes == 8 * 2**30 and gpus[0].vram_used_bytes == 2**30
    assert "GPU 1" in notes[0]
    assert nvml.calls == ["init", "shutdown"]  # type: ignore[attr-defined]
