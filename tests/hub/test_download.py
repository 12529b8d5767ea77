"""Downloads against the local hub server: drops, corruption, full disks, bad names, no hub."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest
from hub_server import HubServer

from fireside.core.context import AppContext
from fireside.core.errors import DownloadError
from fireside.core.hub import download as dl
from fireside.core.hub.catalog import search
from fireside.core.hub.common import HubConfig, HubUnreachableError, UnsafeFilenameError
from fireside.core.hub.download import Fetcher, download_choice, safe_relpath
from fireside.core.models.starter import sha256_of

LLAMA = "fireside-test/Tiny-Llama-GGUF"
Q8 = "tiny-llama-Q8_0.gguf"


def _get(app_ctx: AppContext, config: HubConfig, repo: str, files: list[str],
         **kw: Any) -> Any:
    return download_choice(config, app_ctx.library, app_ctx.paths.downloads, repo, files, **kw)


def test_split_model_downloads_verified_and_registered(config: HubConfig, app_ctx: AppContext,
                                                       hub: HubServer) -> None:
    files = ["tiny-llama-F16-00001-of-00002.gguf", "tiny-llama-F16-00002-of-00002.gguf"]
    seen: list[tuple[int, int]] = []
    model = _get(app_ctx, config, LLAMA, files, progress=lambda d, t: seen.append((d, t)))
    assert [Path(f).name for f in model.entry.files] == files
    assert model.entry.repo == LLAMA and model.entry.license == "llama3.1"
    served = {f.path: f for f in hub.repos[LLAMA].files}
    for f in model.entry.files:
        assert sha256_of(Path(f)) == served[Path(f).name].sha256
    assert seen[-1][0] == seen[-1][1] == sum(served[f].size for f in files)
    assert not list(app_ctx.paths.downloads.rglob("*.part"))
    assert [m.name for m in app_ctx.library.list()] == [model.name]


def test_dropped_connection_is_retried_and_resumed(config: HubConfig, app_ctx: AppContext,
                                                   hub: HubServer) -> None:
    hub.faults.drop_after, hub.faults.drop_times = 300_000, 2
    model = _get(app_ctx, config, LLAMA, [Q8], fetcher=Fetcher(config, backoff=0.01))
    gets = hub.file_gets(Q8)
    assert len(gets) == 3
    assert gets[0].range == ""
    offsets = [int(g.range.removeprefix("bytes=").split("-")[0]) for g in gets[1:]]
    assert offsets == [300_000, 600_000]
    assert sha256_of(model.path) == hub.repos[LLAMA].file(Q8).sha256  # type: ignore[union-attr]


def test_retries_give_up_with_a_clear_error(config: HubConfig, app_ctx: AppContext,
                                            hub: HubServer) -> None:
    hub.faults.drop_after, hub.faults.drop_times = 300_000, 1
    with pytest.raises(DownloadError, match="kept failing.*resume"):
        _get(app_ctx, config, LLAMA, [Q8], fetcher=Fetcher(config, retries=0))
    part = app_ctx.paths.downloads / LLAMA.replace("/", "__") / f"{Q8}.part"
    assert part.stat().st_size == 300_000  # kept for a resume
    assert app_ctx.library.list() == []
    hub.faults.drop_times = 0
    _get(app_ctx, config, LLAMA, [Q8])
    assert hub.file_gets(Q8)[-1].range == "bytes=300000-"


def test_corrupted_bytes_are_discarded(config: HubConfig, app_ctx: AppContext,
                                       hub: HubServer) -> None:
    hub.faults.corrupt = {f"{LLAMA}/{Q8}"}
    with pytest.raises(DownloadError, match="sha256 mismatch.*discarded"):
        _get(app_ctx, config, LLAMA, [Q8])
    assert not [p for p in app_ctx.paths.data.rglob("*") if p.is_file()
                and p.name.startswith("tiny-llama")]
    assert app_ctx.library.list() == []


def test_not_enough_disk_is_refused_before_starting(config: HubConfig, app_ctx: AppContext,
                                                    hub: HubServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _p: usage(10**9, 10**9, 1000))
    with pytest.raises(DownloadError, match="not enough disk space"):
        _get(app_ctx, config, LLAMA, [Q8])
    assert hub.file_gets(Q8) == []


class _FullDisk(Fetcher):
    """Writes fail with ENOSPC once 200 kB are on disk, as on a full drive."""

    def _open(self, part: Path, mode: str) -> Any:
        fh = part.open(mode)
        real_write = fh.write

        def write(data: bytes) -> int:
            if fh.tell() + len(data) > 200_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(data)

        fh.write = write  # type: ignore[method-assign]
        return fh


def test_disk_full_midway_is_a_clear_error(config: HubConfig, app_ctx: AppContext,
                                           hub: HubServer) -> None:
    with pytest.raises(DownloadError, match="disk is full.*resume"):
        _get(app_ctx, config, LLAMA, [Q8], fetcher=_FullDisk(config))
    assert app_ctx.library.list() == []
    model = _get(app_ctx, config, LLAMA, [Q8])  # space freed: it resumes and verifies
    assert model.path.name == Q8


@pytest.mark.parametrize("name", ["../../escape.gguf", "/etc/passwd.gguf", "a\\b.gguf",
                                  "C:/x.gguf", "c:x.gguf", "a/../../b.gguf", "./a.gguf", ""])
def test_unsafe_names_refused(name: str) -> None:
    with pytest.raises(UnsafeFilenameError):
        safe_relpath(name)


def test_traversal_repo_writes_nothing(config: HubConfig, app_ctx: AppContext,
                                       hub: HubServer, tmp_path: Path) -> None:
    for name in [f.path for f in hub.repos["fireside-test/Traversal-GGUF"].files]:
        with pytest.raises(UnsafeFilenameError):
            _get(app_ctx, config, "fireside-test/Traversal-GGUF", [name])
    assert hub.file_gets("escape.Q4_0.gguf") == []
    assert not list(tmp_path.rglob("escape*")) and not list(tmp_path.rglob("*abs*"))
    with pytest.raises(UnsafeFilenameError):
        _get(app_ctx, config, "../evil", ["x.gguf"])


def test_hub_unreachable_is_clear_and_app_stays_usable(
        app_ctx: AppContext, fireside_home: Path, installed_starter: Path) -> None:
    dead = HubConfig("http://127.0.0.1:9", None)
    with pytest.raises(HubUnreachableError, match="cannot reach the Hub.*local models"):
        search(dead, "x")
    env = dict(os.environ, HF_ENDPOINT=dead.endpoint, FIRESIDE_HOME=str(fireside_home))
    for args in (["search", "llama"], ["pull", "a/b:Q4_K_M"], ["files", "a/b"]):
        r = subprocess.run([sys.executable, "-m", "fireside", *args], env=env, check=False,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert "cannot reach the Hub at http://127.0.0.1:9" in r.stderr
        assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "fireside", "ls", "--json"], env=env, check=False,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "smollm2" in r.stdout


def test_free_space_check_uses_remaining_bytes(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    dl.check_free_space(tmp_path, 1)
    with pytest.raises(DownloadError):
        dl.check_free_space(tmp_path, free)


def _plan(hub: HubServer, repo: str, name: str) -> dl.FilePlan:
    served = hub.repos[repo].file(name)
    assert served is not None
    return dl.FilePlan(repo, name, f"{hub.url}/{repo}/resolve/main/{name}", served.size,
                       served.sha256, served.sha256, hub.repos[repo].sha)


def test_redirect_followed_and_token_kept_to_the_hub_host(hub: HubServer,
                                                          tmp_path: Path) -> None:
    """The byte GET itself follows the Hub's redirect to a CDN host, without the token."""
    hub.cdn_host = "localhost"
    repo, name = "fireside-test/Gated-Gemma-GGUF", "gated-gemma.Q4_0.gguf"
    plan = _plan(hub, repo, name)
    token = "hf_granted_test_token"
    got = Fetcher(HubConfig(hub.url, token)).fetch(plan, tmp_path / "g.part", lambda _n: None)
    assert got == plan.sha256 == sha256_of(tmp_path / "g.part")
    gets = hub.file_gets(name)
    assert [("/_cdn/" in g.path, g.authorized) for g in gets] == [(False, True), (True, False)]
    assert gets[1].host.startswith("localhost:")


def test_stalled_link_is_cut_with_a_clear_error(hub: HubServer, tmp_path: Path) -> None:
    """A connection that stops sending is cut after ``stall_timeout`` (then retried like a
    drop; ``retries=0`` makes that deterministic) instead of hanging for minutes."""
    hub.faults.throttle_bps = 4000  # a 1 KiB write every ~0.25 s: slower than the stall limit
    plan = _plan(hub, LLAMA, Q8)
    fetcher = Fetcher(HubConfig(hub.url, None), retries=0, stall_timeout=0.05)
    with pytest.raises(DownloadError, match=r"kept failing \(TimeoutError\).*resume"):
        fetcher.fetch(plan, tmp_path / "s.part", lambda _n: None)
    assert len(hub.file_gets(Q8)) == 1
    assert (tmp_path / "s.part").stat().st_size < plan.size  # kept for a resume


def test_slow_link_reports_progress_in_small_steps(hub: HubServer, tmp_path: Path) -> None:
    """Big read buffers must not hide progress (or pause/cancel) on a slow link."""
    hub.faults.throttle_bps = 1024 * 1024  # the throttle caps speed: at least ~0.8 s
    plan = _plan(hub, LLAMA, Q8)
    seen: list[int] = []
    Fetcher(HubConfig(hub.url, None)).fetch(plan, tmp_path / "p.part", seen.append)
    assert seen[0] == 0 and seen[-1] == plan.size
    assert len(seen) >= 4  # >= 0.8 s of transfer, handed over every 0.1 s
    assert seen == sorted(seen)


def test_proxy_settings_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from fireside.core.hub import transfer

    monkeypatch.setenv("http_proxy", "http://user:pw@127.0.0.1:3128")
    monkeypatch.setenv("no_proxy", "bypass.example")
    conn, target, extra = transfer._connect("http://hub.example/a/b?x=1", 5)
    assert (conn.host, conn.port) == ("127.0.0.1", 3128)
    assert target == "http://hub.example/a/b?x=1"
    assert extra == {"Proxy-Authorization": "Basic dXNlcjpwdw=="}
    conn, target, extra = transfer._connect("http://bypass.example:8080/f", 5)
    assert (conn.host, conn.port, target, extra) == ("bypass.example", 8080, "/f", {})
