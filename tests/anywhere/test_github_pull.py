"""`fireside pull github:…` against the GitHub stand-in: verify, refuse, resume, tokens."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from github_server import Asset, GitHubStandIn

from fireside.core.cli.main import main
from fireside.core.context import AppContext

from .conftest import TOKEN


def _pull(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict | None, str]:  # type: ignore[type-arg]
    rc = main(["pull", *args, "--json"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else None), err


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_pull_latest_release_picks_quant_verifies_digest_and_license(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    gh.release("acme/tiny", "v1", [Asset("tiny-Q8_0.gguf", tiny_files["tiny-Q8_0.gguf"])])
    gh.release("acme/tiny", "v2", [Asset(n, tiny_files[n]) for n in
                                   ("tiny-Q8_0.gguf", "tiny-Q4_K_M.gguf")], spdx="MIT")
    rc, data, err = _pull(capsys, "github:acme/tiny")
    assert rc == 0, err
    assert data is not None
    want = hashlib.sha256(tiny_files["tiny-Q4_K_M.gguf"]).hexdigest()
    assert data["verification"]["sha256_verified"] is True
    assert data["verification"]["check"] == "sha256 from the GitHub asset digest"
    assert data["license_verdict"]["klass"] == "commercial"
    assert data["resolved"]["quant"] == "Q4_K_M" and data["resolved"]["revision"] == "v2"
    assert Path(data["path"]).read_bytes() == tiny_files["tiny-Q4_K_M.gguf"]
    assert Path(data["path"]).parent == app_ctx.library.models_dir / "github" / "acme" / "tiny"
    assert app_ctx.library.get(data["name"]).entry.sha256 == want
    assert "license mit: commercial use OK" in err and "fit:" in err
    # an explicit tag and quant
    rc, data, err = _pull(capsys, "github:acme/tiny@v1:Q8_0")
    assert rc == 0, err
    assert data is not None and data["resolved"]["revision"] == "v1"


def test_token_goes_to_the_api_host_never_to_objects(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    gh.release("acme/tiny", "v1", [Asset("tiny-Q4_K_M.gguf", tiny_files["tiny-Q4_K_M.gguf"])],
               spdx="Apache-2.0")
    rc, _data, err = _pull(capsys, "github:acme/tiny")
    assert rc == 0, err
    seen = gh.requests
    api = [r for r in seen if r.server == "api"]
    objects = [r for r in seen if r.server == "objects"]
    assert api and all(r.authorization == f"Bearer {TOKEN}" for r in api)
    assert any(r.range.startswith("bytes=0-") for r in objects)  # header, probe, body
    assert objects and all(r.authorization == "" for r in objects)
    assert all(TOKEN not in r.path for r in seen)


def test_wrong_digest_discards_the_file(gh: GitHubStandIn, tiny_files: dict[str, bytes],
                                        app_ctx: AppContext,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    gh.release("acme/bad", "v1", [Asset("tiny-Q4_K_M.gguf", tiny_files["tiny-Q4_K_M.gguf"],
                                        digest="0" * 64)], spdx="MIT")
    rc, _data, err = _pull(capsys, "github:acme/bad")
    assert rc == 1
    assert "sha256 mismatch" in err and len(err.strip().splitlines()) >= 1
    assert err.strip().splitlines()[-1].startswith("fireside: ")
    assert _files_under(app_ctx.paths.downloads / "github__acme__bad") == []
    assert app_ctx.library.list() == []


@pytest.mark.parametrize("name", ["../evil.Q4_K_M.gguf", "/abs.Q4_K_M.gguf",
                                  "sub\\win.Q4_K_M.gguf"])
def test_traversal_asset_names_refused_before_any_write(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    gh.release("acme/trap", "v1", [Asset(name, tiny_files["tiny-Q4_K_M.gguf"])], spdx="MIT")
    before = set(_files_under(tmp_path))
    rc, _data, err = _pull(capsys, "github:acme/trap")
    assert rc == 2
    assert "refusing" in err
    assert not (app_ctx.paths.downloads).exists() or _files_under(app_ctx.paths.downloads) == []
    assert [p for p in set(_files_under(tmp_path)) - before if p.suffix in (".gguf", ".part")
            ] == []
    assert not any(r.server == "objects" for r in gh.requests)  # not a byte was fetched


def test_no_release_is_bad_input(gh: GitHubStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _data, err = _pull(capsys, "github:acme/none@v9")
    assert rc == 2 and "no such release" in err


@pytest.mark.slow
def test_kill_9_mid_download_then_resume_by_offset(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        fireside_home: Path) -> None:
    data = tiny_files["big-Q4_K_M.gguf"]
    gh.release("acme/big", "v1", [Asset("big-Q4_K_M.gguf", data)], spdx="MIT")
    gh.state.throttle_bps = 2 * 1024 * 1024
    env = dict(os.environ, FIRESIDE_HOME=str(fireside_home))
    cmd = [sys.executable, "-m", "fireside", "pull", "github:acme/big", "--json"]
    part = app_ctx.paths.downloads / "github__acme__big" / "big-Q4_K_M.gguf.part"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 2 * 1024 * 1024):
            assert time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    killed_at = part.stat().st_size
    assert 0 < killed_at < len(data)
    assert app_ctx.library.list() == []
    gh.state.throttle_bps = 0
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    body = [r for r in gh.requests if r.server == "objects" and r.range
            and not r.range.startswith("bytes=0-")]
    offset = int(body[-1].range.removeprefix("bytes=").split("-")[0])
    assert offset >= killed_at
    out = json.loads(done.stdout)
    assert out["transfer"]["bytes"] == len(data) - offset
    assert hashlib.sha256(Path(out["path"]).read_bytes()).hexdigest() == \
        hashlib.sha256(data).hexdigest()
    assert out["verification"]["sha256_verified"] is True
    assert not part.exists()
