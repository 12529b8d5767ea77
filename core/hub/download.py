"""Downloading one model choice (one file, or every shard of a split model), safely.

The promises: bytes go to a ``.part`` file next to a small JSON sidecar (URL, etag, size,
sha256), so a later process — after Ctrl-C, a kill or a crash — resumes from the part's byte
offset with a Range request; dropped connections and stalls are retried with backoff; the
sha256 is checked against the Hub's LFS sha256 before the file is renamed into the models
folder, so a partial or corrupt file is never listed as a model. File names from the Hub are
validated before anything is written.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from fireside.core.errors import DownloadError
from fireside.core.hub.common import (
    GatedRepoError,
    HubConfig,
    HubError,
    UnsafeFilenameError,
    hub_errors,
)
from fireside.core.hub.licenses import gated_message
from fireside.core.hub.transfer import Sink, State, TransportError, open_get, pump
from fireside.core.inference.media import is_projector
from fireside.core.models.library import Library, LocalModel
from fireside.core.units import human_bytes

log = logging.getLogger("fireside.hub.download")
CHUNK = 1024 * 1024
DISK_MARGIN = 64 * 1024 * 1024
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

Progress = Callable[[int, int], None]  # (bytes done, bytes total) for the whole choice


class Stopped(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a fetch when the user paused or cancelled it."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Control:
    """Thread-safe pause/cancel flags, checked between chunks."""

    def __init__(self) -> None:
        self.pause = threading.Event()
        self.cancel = threading.Event()

    def check(self) -> None:
        if self.cancel.is_set():
            raise Stopped("cancelled")
        if self.pause.is_set():
            raise Stopped("paused")

    def wait(self, seconds: float) -> None:
        """Sleep that a pause or cancel cuts short."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check()
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        self.check()


def validate_repo(repo: str) -> str:
    if not _REPO_RE.match(repo) or ".." in repo:
        raise UnsafeFilenameError(f"not a valid repo id: {repo!r} (expected owner/name)")
    return repo


def safe_relpath(name: str) -> PurePosixPath:
    """A repo file name as a relative path that cannot leave its folder, or a refusal."""
    bad = ""
    if not name or "\x00" in name:
        bad = "empty or contains NUL"
    elif "\\" in name:
        bad = "contains a backslash"
    elif name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        bad = "is an absolute path"
    elif any(part in ("..", ".", "") for part in name.split("/")):
        bad = "contains '..' or empty segments"
    if bad:
        raise UnsafeFilenameError(f"refusing repo file name {name!r}: it {bad}")
    return PurePosixPath(name)


@dataclass
class FilePlan:
    """Everything needed to fetch and verify one file, resolved before the first byte."""

    repo: str
    path: str
    url: str
    size: int
    sha256: str
    etag: str
    commit: str


def repo_folder(models_dir: Path, repo: str) -> Path:
    owner, name = validate_repo(repo).split("/")
    return models_dir / "hub" / owner / name


def _inside(root: Path, rel: PurePosixPath) -> Path:
    target = (root / Path(*rel.parts)).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafeFilenameError(f"refusing {rel}: it resolves outside {root}")
    return target


def plan_files(config: HubConfig, repo: str, files: list[str], revision: str | None,
               sizes: dict[str, int], shas: dict[str, str]) -> list[FilePlan]:
    """Resolve URL, etag, size and commit with huggingface_hub's metadata helpers."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    plans: list[FilePlan] = []
    rev = revision or "main"
    for name in files:
        url = hf_hub_url(repo, name, revision=rev, endpoint=config.endpoint)
        with hub_errors(config, repo):
            meta = get_hf_file_metadata(url, token=config.hf_token(), endpoint=config.endpoint,
                                        timeout=20)
        rev = meta.commit_hash or rev  # pin every shard to the same commit
        etag = meta.etag or ""
        sha = shas.get(name) or (etag if re.fullmatch(r"[0-9a-f]{64}", etag) else "")
        size = meta.size if meta.size is not None else sizes.get(name, 0)
        plans.append(FilePlan(repo, name, meta.location, int(size), sha, etag,
                              meta.commit_hash or ""))
    return plans


def check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN > free:
        raise DownloadError(
            f"not enough disk space in {folder}: the download needs {human_bytes(needed)} "
            f"plus {human_bytes(DISK_MARGIN)} to spare, {human_bytes(free)} free")


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)


class Fetcher:
    """Streams one file into its ``.part`` with resume, retries and sha256 verification."""

    def __init__(self, config: HubConfig, *, control: Control | None = None,
                 retries: int = 6, backoff: float = 0.5, stall_timeout: float = 30.0) -> None:
        self.config = config
        self.control = control or Control()
        self.retries = retries
        self.backoff = backoff
        self.stall_timeout = stall_timeout

    def _open(self, part: Path, mode: str) -> BinaryIO:
        """The part file's writer (a seam for simulating a full disk in tests)."""
        return part.open(mode)  # type: ignore[return-value]

    def resume_offset(self, plan: FilePlan, part: Path) -> int:
        """Bytes already fetched for this exact file version (0 when none or another one)."""
        side = _sidecar(part)
        if part.exists() and side.exists():
            try:
                saved = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                saved = {}
            same = (saved.get("etag"), saved.get("size"), saved.get("sha256")) == (
                plan.etag, plan.size, plan.sha256)
            if same and part.stat().st_size <= plan.size:
                return part.stat().st_size
        return 0

    def fetch(self, plan: FilePlan, part: Path, on_bytes: Callable[[int], None]) -> str:
        """Fetch into ``part``; return the verified sha256. ``on_bytes(n)`` reports progress."""
        part.parent.mkdir(parents=True, exist_ok=True)
        offset = self.resume_offset(plan, part)
        digest = hashlib.sha256()
        if offset:
            with part.open("rb") as fh:
                while block := fh.read(CHUNK * 4):
                    digest.update(block)
            log.info("resuming %s at byte %d of %d", plan.path, offset, plan.size)
        else:
            part.write_bytes(b"")
            _sidecar(part).write_text(json.dumps(asdict(plan)), encoding="utf-8")
        on_bytes(offset)
        state = State(offset, digest)
        failures = 0
        while state.offset < plan.size:
            self.control.check()
            before = state.offset
            try:
                self._stream(plan, part, state, on_bytes)
            except TransportError as exc:
                if state.offset > before:
                    failures = 0
                failures += 1
                if failures > self.retries:
                    raise DownloadError(
                        f"{plan.path}: the connection kept failing ({_short(exc)}); "
                        "the partial download is kept — run the same command to resume") from None
                delay = min(10.0, self.backoff * 2 ** (failures - 1))
                log.warning("%s: %s at byte %d; retry %d in %.1fs", plan.path, _short(exc),
                            state.offset, failures, delay)
                self.control.wait(delay)
        got = state.digest.hexdigest()
        if plan.sha256 and got != plan.sha256:
            discard(part)
            raise DownloadError(
                f"{plan.path}: sha256 mismatch (got {got[:12]}…, the source says "
                f"{plan.sha256[:12]}…); the corrupt file was discarded — try again")
        return got

    def _stream(self, plan: FilePlan, part: Path, state: State,
                on_bytes: Callable[[int], None]) -> None:
        """One GET from ``state.offset``; ``state`` stays true to the bytes on disk even
        when the connection drops half-way."""
        extra = {"Range": f"bytes={state.offset}-"} if state.offset else {}

        def headers_for(url: str) -> dict[str, str]:
            return {**self.config.auth_for(url), **extra}

        r = open_get(plan.url, headers_for, stall_timeout=self.stall_timeout)
        try:
            if r.status == 416 and state.offset >= plan.size:
                return
            mode = "ab"
            if r.status == 200 and state.offset:  # the server ignored Range: start over
                state.offset, state.digest, mode = 0, hashlib.sha256(), "wb"
            elif r.status == 206 and not r.header("Content-Range").startswith(
                    f"bytes {state.offset}-"):
                raise TransportError(f"asked for byte {state.offset}, got "
                                     f"{r.header('Content-Range') or 'another range'}")
            elif r.status not in (200, 206):
                raise self._refused(plan, r.status, r.header("X-Error-Code"))
            length = r.raw.length
            if length is not None and length != plan.size - state.offset:
                raise DownloadError(
                    f"{plan.path}: the server sends {length} bytes from byte {state.offset}, "
                    f"but the file has {plan.size}; it may have changed on the Hub — run the "
                    "same command again")
            try:
                with self._open(part, mode) as fh:
                    sink = Sink(fh, state, on_bytes)
                    try:
                        pump(r.reader(), sink, plan.size - state.offset, self.control.check)
                    finally:
                        sink.close()
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise DownloadError(
                        f"the disk is full while writing {plan.path} "
                        f"({human_bytes(state.offset)} done); free some space and run it "
                        "again to resume") from None
                raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
        finally:
            r.close()

    def _refused(self, plan: FilePlan, status: int, code: str) -> Exception:
        if code == "GatedRepo" or status in (401, 403):
            return GatedRepoError(gated_message(plan.repo, self.config.endpoint))
        return HubError(f"the Hub answered {status} for {plan.repo}/{plan.path}")


def _short(exc: BaseException) -> str:
    return str(exc).split(":", 1)[0] or type(exc).__name__


@dataclass(frozen=True)
class Verification:
    """What was actually checked about the bytes, so nobody claims a hash that was not."""

    files: int
    sha256_checked: int  # files whose sha256 the Hub gave and the bytes matched
    size_bytes: int

    @property
    def sha256_verified(self) -> bool:
        return self.files > 0 and self.sha256_checked == self.files

    def summary(self) -> str:
        if self.sha256_verified:
            return "sha256 verified"
        size = f"size checked ({self.size_bytes:,} bytes)"
        if self.sha256_checked == 0:
            return f"{size}; not sha256-verified: the source gave no sha256"
        return (f"sha256 verified for {self.sha256_checked} of {self.files} files, {size}; "
                "the source gave no sha256 for the others")


def download_choice(config: HubConfig, library: Library, downloads_dir: Path, repo: str,
                    files: list[str], *, revision: str | None = None,
                    sizes: dict[str, int] | None = None, shas: dict[str, str] | None = None,
                    license_id: str = "", progress: Progress | None = None,
                    fetcher: Fetcher | None = None) -> LocalModel:
    """Download every file of one choice, verify, move into place and register it."""
    return download_verified(config, library, downloads_dir, repo, files, revision=revision,
                             sizes=sizes, shas=shas, license_id=license_id,
                             progress=progress, fetcher=fetcher)[0]


def download_verified(config: HubConfig, library: Library, downloads_dir: Path, repo: str,
                      files: list[str], *, revision: str | None = None,
                      sizes: dict[str, int] | None = None, shas: dict[str, str] | None = None,
                      license_id: str = "", progress: Progress | None = None,
                      fetcher: Fetcher | None = None) -> tuple[LocalModel, Verification]:
    """:func:`download_choice`, also saying what was verified (for "sha256 verified")."""
    validate_repo(repo)
    rels = [safe_relpath(f) for f in files]  # refuse before any write
    final_root = repo_folder(library.models_dir, repo)
    part_root = downloads_dir / repo.replace("/", "__")
    targets = [_inside(final_root, r) for r in rels]
    parts = [_inside(part_root, r.with_name(r.name + ".part")) for r in rels]
    if sizes is None or shas is None:
        from fireside.core.hub.catalog import repo_detail

        detail = repo_detail(config, repo, revision=revision, with_readme=False)
        all_files = {f.path: f for c in detail.choices for f in c.files}
        sizes = {k: v.size for k, v in all_files.items()}
        shas = {k: v.sha256 for k, v in all_files.items()}
        license_id = license_id or detail.license.license_id
    plans = plan_files(config, repo, files, revision, sizes, shas)
    fetcher = fetcher or Fetcher(config)
    total = sum(p.size for p in plans)
    pending = [(p, part, target) for p, part, target in zip(plans, parts, targets, strict=True)
               if not (target.exists() and target.stat().st_size == p.size)]
    say = progress or (lambda _d, _t: None)
    shas_got, _sent = fetch_parts(fetcher, pending, total, downloads_dir, say)
    first_sha = shas_got.get(plans[0].path) or plans[0].sha256
    checked = sum(1 for p, _part, _t in pending if p.sha256 and p.path in shas_got)
    # a vision projector fetched with the model stays beside it, found there at load time
    model = library.register([t for t in targets if not is_projector(t)], source=f"hub:{repo}",
                             license=license_id, repo=repo, sha256=first_sha)
    return model, Verification(len(plans), checked, total)


def fetch_parts(fetcher: Fetcher, pending: list[tuple[FilePlan, Path, Path]], total: int,
                downloads_dir: Path, say: Callable[[int, int], None]
                ) -> tuple[dict[str, str], int]:
    """Fetch the parts not yet whole (each resumed from its offset), then move them all into
    place, none before every one is whole and verified.

    Returns each part's sha256 by its path, and the bytes this call had to transfer. Progress
    counts the parts already whole as done, so a resumed split model's bar starts where it was.
    """
    have = {id(p): fetcher.resume_offset(p, part) for p, part, _t in pending}
    to_send = sum(p.size - have[id(p)] for p, _part, _t in pending)
    downloads_dir.mkdir(parents=True, exist_ok=True)
    check_free_space(downloads_dir, to_send)
    done = total - sum(p.size for p, _part, _t in pending)
    got: dict[str, str] = {}
    for plan, part, _target in pending:
        base = done

        def report(n: int, base: int = base) -> None:
            say(base + n, total)

        got[plan.path] = fetcher.fetch(plan, part, report)
        done += plan.size
    for _plan, part, target in pending:
        move_into_place(part, target)
        _sidecar(part).unlink(missing_ok=True)
    say(total, total)
    return got, to_send


def move_into_place(part: Path, target: Path) -> None:
    """Rename a verified part into the models folder; copy then rename where the downloads
    folder is on another file system (``EXDEV``), so the target is never half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(part, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise DownloadError(f"cannot move {part.name} into {target.parent}: "
                                f"{exc.strerror or exc}; the download is kept") from exc
    tmp = target.with_name(f".{target.name}.{os.getpid()}.moving")
    try:
        shutil.copyfile(part, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"cannot copy {part.name} into {target.parent}: "
                            f"{exc.strerror or exc}; the download is kept") from exc
    part.unlink(missing_ok=True)
