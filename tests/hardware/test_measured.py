"""Prediction vs reality: real loads of the starter model.

What is measured (and what ``estimate.total_bytes`` predicts): in a *fresh* Python process,
RSS after ``import llama_cpp`` + ``llama_backend_init()`` is the baseline; the engine then loads
the model with the given settings and generates 8 tokens from a short prompt; the figure is RSS
after generating minus the baseline (``python -m fireside.core.hardware.measure``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireside.core.cli.main import main
from fireside.core.hardware import estimate
from fireside.core.hardware.measure import LoadMonitor, measure_fresh
from fireside.core.inference.engine import Engine
from fireside.core.inference.types import LoadSettings
from fireside.core.models.meta import ModelMeta

pytestmark = pytest.mark.slow
_measured: dict[int, dict] = {}  # type: ignore[type-arg]


def _measure(starter_file: Path, ctx: int) -> dict:  # type: ignore[type-arg]
    if ctx not in _measured:
        _measured[ctx] = measure_fresh(starter_file, LoadSettings(n_ctx=ctx))
    return _measured[ctx]


@pytest.mark.parametrize("ctx", [512, 2048, 8192])
def test_predicted_rss_within_10_percent(starter_file: Path, starter_meta: ModelMeta,
                                         ctx: int) -> None:
    measured = _measure(starter_file, ctx)
    predicted = estimate.estimate(starter_meta, ctx).total_bytes
    error = abs(predicted - measured["rss_delta_bytes"]) / measured["rss_delta_bytes"]
    assert measured["tokens"] > 0 and measured["n_ctx"] == ctx
    assert error < 0.10, (predicted, measured["rss_delta_bytes"])
    # llama.cpp's own KV buffer is exactly the formula's figure.
    assert measured["llama_buffers"]["CPU KV"] == pytest.approx(
        estimate.estimate(starter_meta, ctx).kv_cache_bytes, abs=0.01 * 2**20)


def test_fit_cli_total_matches_a_fresh_load_at_8192(
        starter_file: Path, installed_starter: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "starter", "--ctx", "8192", "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total_bytes"]
    real = _measure(starter_file, 8192)["rss_delta_bytes"]
    assert abs(total - real) / real < 0.10, (total, real)


def test_monitor_measures_every_load_next_to_the_prediction(starter_file: Path) -> None:
    engine = Engine()
    monitor = LoadMonitor(engine)
    seen: list[object] = []
    monitor.on_measured(seen.append)
    engine.load(starter_file, LoadSettings(n_ctx=1024), name="starter")
    try:
        m = monitor.last
        assert m is not None and seen == [m]
        kv = m.predicted["kv_cache_bytes"]
        assert kv == 30 * 1024 * 3 * 64 * 2 * 2
        assert m.llama_buffers["CPU KV"] == pytest.approx(kv, abs=0.01 * 2**20)
        assert m.llama_buffers["CPU_Mapped model"] == pytest.approx(
            m.predicted["weights_bytes"], rel=0.01)
        assert m.rss_delta_bytes is not None and m.rss_delta_bytes > kv
        assert m.to_json()["rss_delta_bytes"] == m.rss_delta_bytes
    finally:
        engine.unload()
    assert monitor.last is None
