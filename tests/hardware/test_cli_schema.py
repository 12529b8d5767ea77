"""`fireside hw --json` and `fireside fit --json`: the keys other code relies on."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fireside.core.cli.main import main

BYTES = {"type": "integer", "minimum": 0}
HW_SCHEMA = {
    "type": "object",
    "required": ["cpu", "ram", "process", "gpus", "backends"],
    "properties": {
        "ram": {"type": "object", "required": ["total_bytes", "available_bytes"],
                "properties": {"total_bytes": BYTES, "available_bytes": BYTES}},
        "process": {"type": "object", "required": ["rss_bytes"],
                    "properties": {"rss_bytes": BYTES}},
        "gpus": {"type": "array", "items": {
            "type": "object", "required": ["name", "vram_total_bytes", "vram_used_bytes"],
            "properties": {"name": {"type": "string"}, "vram_total_bytes": BYTES,
                           "vram_used_bytes": BYTES}}},
    },
}
FIT_SCHEMA = {
    "type": "object",
    "required": ["weights_bytes", "kv_cache_bytes", "overhead_bytes", "total_bytes", "verdict",
                 "max_context"],
    "properties": {
        "weights_bytes": BYTES, "kv_cache_bytes": BYTES, "overhead_bytes": BYTES,
        "total_bytes": BYTES, "max_context": BYTES,
        "verdict": {"enum": ["fits_gpu", "partial_offload", "cpu_only", "too_large"]},
    },
}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_hw_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["hw", "--json"])
    jsonschema.validate(data, HW_SCHEMA)
    # Whatever this machine has (none on the dev box), listed without an error.
    from fireside.core.hardware import probe

    assert len(data["gpus"]) == len(probe.nvidia_gpus() + probe.amd_gpus())
    assert data["backends"]["backend"] in ("cpu", "cuda", "metal", "vulkan", "hip")


def test_fit_json(capsys: pytest.CaptureFixture[str], installed_starter: Path) -> None:
    data = _json(capsys, ["fit", "starter", "--ctx", "2048", "--json"])
    jsonschema.validate(data, FIT_SCHEMA)
    assert data["kv_cache_bytes"] == 30 * 2048 * 3 * 64 * 2 * 2
    assert data["total_bytes"] == (data["weights_bytes"] + data["kv_cache_bytes"]
                                   + data["overhead_bytes"])
    assert data["verdict"] == "cpu_only" and data["max_context"] == 8192


def test_fit_unknown_model_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "no-such-model", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fireside:") and "\n" not in err


def test_hw_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw"]) == 0
    out = capsys.readouterr().out
    assert "RAM" in out and "GPUs     none found" in out
