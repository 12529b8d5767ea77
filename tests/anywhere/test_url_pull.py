"""`fireside pull https://…gguf`: sidecars, --sha256, split siblings, servers without Range."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from github_server import GitHubStandIn

from fireside.core.cli.main import main
from fireside.core.context import AppContext
from fireside.core.hub.manager import DONE, DownloadManager
from fireside.core.hub.sources import resolve, sha_from_sums


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pull(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict | None, str]:  # type: ignore[type-arg]
    rc = main(["pull", *args, "--json"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if rc == 0 else None), err


def test_sidecar_sha256_beside_the_url_is_used(gh: GitHubStandIn, tiny_files: dict[str, bytes],
                                               app_ctx: AppContext,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny_files["tiny-Q4_K_M.gguf"]
    gh.state.plain["/m/tiny-Q4_K_M.gguf"] = data
    gh.state.plain["/m/tiny-Q4_K_M.gguf.sha256"] = f"{_sha(data)}  tiny-Q4_K_M.gguf\n".encode()
    rc, out, err = _pull(capsys, f"{gh.objects}/m/tiny-Q4_K_M.gguf")
    assert rc == 0, err
    assert out is not None
    assert out["verification"] == {"sha256_verified": True,
                                   "check": "sha256 from tiny-Q4_K_M.gguf.sha256 beside it",
                                   "summary": "sha256 verified (sha256 from "
                                              "tiny-Q4_K_M.gguf.sha256 beside it)"}
    assert out["resolved"]["resumable"] is True
    assert out["fit"]["source"] == "header"  # the header came from a Range request
    assert out["source"] == f"{gh.objects}/m/tiny-Q4_K_M.gguf"
    assert Path(out["path"]).read_bytes() == data


def test_explicit_sha256_wins_and_a_wrong_one_discards(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny_files["tiny-Q8_0.gguf"]
    gh.state.plain["/m/tiny-Q8_0.gguf"] = data
    url = f"{gh.objects}/m/tiny-Q8_0.gguf"
    rc, _out, err = _pull(capsys, url, "--sha256", "ab" * 32)
    assert rc == 1 and "sha256 mismatch" in err
    assert not any(app_ctx.paths.downloads.rglob("*.part"))
    assert app_ctx.library.list() == []
    rc, _out, err = _pull(capsys, url, "--sha256", "xyz")
    assert rc == 2 and "64 hex digits" in err
    rc, out, err = _pull(capsys, url, "--sha256", _sha(data).upper())
    assert rc == 0, err
    assert out is not None and out["verification"]["check"] == "sha256 from --sha256"


def test_no_digest_anywhere_says_nothing_could_be_checked(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    gh.state.plain["/x/tiny-Q8_0.gguf"] = tiny_files["tiny-Q8_0.gguf"]
    rc, out, err = _pull(capsys, f"{gh.objects}/x/tiny-Q8_0.gguf")
    assert rc == 0, err
    assert out is not None and out["verification"]["sha256_verified"] is False
    assert out["verification"]["summary"].startswith("not sha256-verified — none: no --sha256")


def test_server_without_range_downloads_without_resume_and_says_so(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny_files["tiny-Q4_K_M.gguf"]
    gh.state.plain["/p/tiny-Q4_K_M.gguf"] = data
    gh.state.plain["/p/SHA256SUMS"] = (f"{'1' * 64}  other.gguf\n"
                                       f"{_sha(data)} *tiny-Q4_K_M.gguf\n").encode()
    rc, out, err = _pull(capsys, f"{gh.plain}/p/tiny-Q4_K_M.gguf")
    assert rc == 0, err
    assert out is not None
    assert out["resolved"]["resumable"] is False
    assert "does not support Range" in err and "starts over" in err
    assert out["fit"]["verdict"] == "unknown"  # no header without a Range request
    assert out["verification"]["check"] == "sha256 from SHA256SUMS beside it"
    assert out["verification"]["sha256_verified"] is True
    gets = [r for r in gh.requests if r.server == "plain" and r.path.endswith(".gguf")]
    assert len(gets) == 2  # the probe (answered 200, body unread) and the download


def test_split_model_siblings_found_by_name(gh: GitHubStandIn, tiny_files: dict[str, bytes],
                                           app_ctx: AppContext,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"split-Q4_K_M-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]
    for n in names:
        gh.state.plain[f"/s/{n}"] = tiny_files[n]
    gh.state.plain["/s/SHA256SUMS"] = "".join(
        f"{_sha(tiny_files[n])}  {n}\n" for n in names).encode()
    rc, out, err = _pull(capsys, f"{gh.objects}/s/{names[0]}")
    assert rc == 0, err
    assert out is not None
    assert [Path(f).name for f in out["files"]] == names
    assert out["verification"]["sha256_verified"] is True
    assert out["size_bytes"] == sum(len(tiny_files[n]) for n in names)
    rc, _out, err = _pull(capsys, f"{gh.objects}/s/{names[0]}", "--sha256", "a" * 64)
    assert rc == 2 and "3 parts" in err


def test_traversal_in_a_url_is_refused(gh: GitHubStandIn, app_ctx: AppContext,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = _pull(capsys, f"{gh.objects}/m/..%2F..%2Fevil.gguf")
    assert rc == 2 and "refusing" in err
    assert gh.requests == []


def test_sums_parser() -> None:
    text = f"{'a' * 64}  dir/one.gguf\n{'b' * 64} *two.gguf\nnot a line\n"
    assert sha_from_sums(text, "one.gguf") == "a" * 64
    assert sha_from_sums(text, "two.gguf") == "b" * 64
    assert sha_from_sums(text, "three.gguf") == ""
    assert sha_from_sums(f"{'C' * 64}\n", "x.gguf", single=True) == "c" * 64


def test_download_manager_queues_a_resolved_reference(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext) -> None:
    from fireside.core.hub.common import HubConfig

    data = tiny_files["tiny-Q4_K_M.gguf"]
    gh.state.plain["/q/tiny-Q4_K_M.gguf"] = data
    res = resolve(f"{gh.objects}/q/tiny-Q4_K_M.gguf", sha256=_sha(data))
    manager = DownloadManager(app_ctx.library, app_ctx.paths.downloads,
                              lambda: HubConfig("http://127.0.0.1:9", None), parallel=1)
    job = manager.submit_resolved(res)
    import time

    deadline = time.monotonic() + 30
    while job.state != DONE:
        assert job.state not in ("failed", "cancelled"), job.error
        assert time.monotonic() < deadline
        time.sleep(0.05)
    manager.shutdown()
    assert job.verified == "sha256 verified (sha256 from --sha256)"
    assert app_ctx.library.get(job.model_name).entry.sha256 == _sha(data)
    assert job.source is not None and job.source["kind"] == "url"


def test_a_queued_reference_comes_back_paused_after_a_restart_and_resumes(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext) -> None:
    import time

    from fireside.core.hub.common import HubConfig
    from fireside.core.hub.manager import PAUSED

    data = tiny_files["tiny-Q8_0.gguf"]
    gh.state.plain["/r/tiny-Q8_0.gguf"] = data
    res = resolve(f"{gh.objects}/r/tiny-Q8_0.gguf", sha256=_sha(data))
    config = HubConfig("http://127.0.0.1:9", None)
    first = DownloadManager(app_ctx.library, app_ctx.paths.downloads, lambda: config)
    first.submit_resolved(res, start=False)
    first.shutdown()
    again = DownloadManager(app_ctx.library, app_ctx.paths.downloads, lambda: config)
    [job] = again.restore()
    assert job.state == PAUSED and job.source is not None
    again.resume(job.id)
    deadline = time.monotonic() + 30
    while job.state != DONE:
        assert job.state != "failed", job.error
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again.shutdown()
    assert job.verified == "sha256 verified (sha256 from --sha256)"


def test_an_unreachable_source_is_a_runtime_failure(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIRESIDE_GITHUB_API", "http://127.0.0.1:9")
    rc, _out, err = _pull(capsys, "github:acme/tiny")
    assert rc == 1
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert err.startswith("fireside: cannot reach GitHub at http://127.0.0.1:9")
    rc, _out, err = _pull(capsys, "http://127.0.0.1:9/m/x.gguf")
    assert rc == 1 and err.startswith("fireside: cannot reach http://127.0.0.1:9/m/x.gguf")


def test_credentials_in_a_url_never_reach_the_record_or_the_folder(
        gh: GitHubStandIn, tiny_files: dict[str, bytes], app_ctx: AppContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    gh.state.plain["/c/tiny-Q8_0.gguf"] = tiny_files["tiny-Q8_0.gguf"]
    host = gh.objects.removeprefix("http://")
    rc, out, err = _pull(capsys, f"http://user:hunter2@{host}/c/tiny-Q8_0.gguf?sig=s3cr3t")
    assert rc == 0, err
    assert out is not None
    assert "hunter2" not in json.dumps(out["source"]) + out["path"] + err
    assert "s3cr3t" not in out["source"] + err
    assert out["source"] == f"{gh.objects}/c/tiny-Q8_0.gguf"


def test_a_huge_answer_for_a_sidecar_is_not_read(gh: GitHubStandIn,
                                                tiny_files: dict[str, bytes]) -> None:
    big = tiny_files["big-Q4_K_M.gguf"]
    gh.state.plain["/h/big-Q4_K_M.gguf"] = big
    gh.state.plain["/h/big-Q4_K_M.gguf.sha256"] = big  # a server answering with the model
    res = resolve(f"{gh.objects}/h/big-Q4_K_M.gguf")
    assert res.files[0].sha256 == "" and res.check.startswith("none")
