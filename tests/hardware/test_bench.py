"""`fireside bench`: figures, provenance and the saved JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireside.core.cli.main import main
from fireside.core.models import starter

pytestmark = pytest.mark.slow


def test_bench_json_is_saved_with_provenance(installed_starter: Path, fireside_home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "starter", "--ctx", "1024", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sha256"] == starter.SHA256
    assert data["llama_cpp"]["version"] and data["settings"]["n_ctx"] == 1024
    assert data["decode_tokens_per_s"] > 0 and data["prefill_tokens_per_s"] > 0
    assert data["ttft_s"] > 0 and data["peak_rss_bytes"] >= data["peak_rss_delta_bytes"] > 0
    assert [p["prompt"] for p in data["prompts"]] == ["short", "medium", "long"]
    saved = Path(data["saved_to"])
    assert saved.parent == fireside_home / "data" / "benchmarks"
    assert json.loads(saved.read_text())["sha256"] == starter.SHA256
