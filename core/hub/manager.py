"""The download queue behind the Downloads view: N in parallel, pause, resume, cancel.

Each job downloads one :class:`~fireside.core.hub.catalog.FileChoice` with
:func:`~fireside.core.hub.download.download_choice`. A job file in the downloads folder records
what was asked for, so jobs interrupted by quitting the app come back as *paused* and resume from
their ``.part`` byte offsets. Listeners are called from worker threads; the GUI relays them onto
its own thread.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fireside.core.atomic import write_json_atomic
from fireside.core.errors import FiresideError
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import Control, Fetcher, Stopped, discard, download_verified
from fireside.core.models.library import Library, LocalModel

if TYPE_CHECKING:
    from fireside.core.hub.sources import Resolved

log = logging.getLogger("fireside.hub.queue")
QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED = (
    "queued", "running", "paused", "done", "failed", "cancelled")


@dataclass
class DownloadJob:
    id: int
    repo: str
    files: list[str]
    revision: str = ""
    license_id: str = ""
    state: str = QUEUED
    done_bytes: int = 0
    total_bytes: int = 0
    speed_bps: float = 0.0
    eta_s: float | None = None
    error: str = ""
    model_name: str = ""
    verified: str = ""  # what was checked once done: "sha256 verified" or "size checked ..."
    source: dict[str, Any] | None = None  # a resolved URL/GitHub reference (Resolved.to_json)
    control: Control = field(default_factory=Control, repr=False)
    _mark: tuple[float, int] = (0.0, 0)

    @property
    def label(self) -> str:
        return self.files[0].rsplit("/", 1)[-1] if self.files else self.repo

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.repo}|{'|'.join(self.files)}".encode()).hexdigest()[:16]

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    def _meter(self, done: int, total: int) -> None:
        """Speed as an exponential moving average over ≥0.25 s windows; ETA from it."""
        now = time.monotonic()
        self.done_bytes, self.total_bytes = done, total
        t0, d0 = self._mark
        if not t0:
            self._mark = (now, done)
            return
        if now - t0 >= 0.25:
            inst = (done - d0) / (now - t0)
            self.speed_bps = inst if not self.speed_bps else 0.3 * inst + 0.7 * self.speed_bps
            self._mark = (now, done)
            self.eta_s = (total - done) / self.speed_bps if self.speed_bps > 0 else None


Listener = Callable[[DownloadJob], None]


class DownloadManager:
    def __init__(self, library: Library, downloads_dir: Path,
                 config: Callable[[], HubConfig], *, parallel: int = 2) -> None:
        self.library = library
        self.downloads_dir = downloads_dir
        self.config = config  # read at job start, so a new token or mirror applies
        self._jobs: dict[int, DownloadJob] = {}
        self._ids = itertools.count(1)
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._threads = [threading.Thread(target=self._worker, name=f"download-{i}",
                                          daemon=True) for i in range(max(1, parallel))]
        for t in self._threads:
            t.start()

    # -- public ---------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def jobs(self) -> list[DownloadJob]:
        with self._lock:
            return list(self._jobs.values())

    def submit(self, repo: str, files: list[str], *, revision: str = "",
               license_id: str = "", total_bytes: int = 0, start: bool = True,
               source: dict[str, Any] | None = None) -> DownloadJob:
        job = DownloadJob(next(self._ids), repo, list(files), revision, license_id,
                          total_bytes=total_bytes, state=QUEUED if start else PAUSED,
                          source=source)
        with self._lock:
            for other in self._jobs.values():
                if other.key == job.key and other.state in (QUEUED, RUNNING, PAUSED):
                    return other
            self._jobs[job.id] = job
        self._save(job)
        self._notify(job)
        if start:
            self._queue.put(job.id)
        return job

    def submit_resolved(self, resolved: Resolved, *, start: bool = True) -> DownloadJob:
        """Queue a URL, GitHub or ``hf.co/`` reference resolved by core/hub/sources.py."""
        names = [f.name for f in resolved.files]
        if resolved.kind == "hf":
            return self.submit(resolved.repo, names, revision=resolved.revision,
                               license_id=resolved.license.license_id,
                               total_bytes=resolved.size, start=start)
        return self.submit(resolved.folder, names, revision=resolved.revision,
                           license_id=resolved.license.license_id, total_bytes=resolved.size,
                           start=start, source=resolved.to_json())

    def pause(self, job_id: int) -> None:
        job = self._jobs[job_id]
        if job.state in (QUEUED, RUNNING):
            job.control.pause.set()
            if job.state == QUEUED:
                self._set(job, PAUSED)

    def resume(self, job_id: int) -> None:
        job = self._jobs[job_id]
        if job.state in (PAUSED, FAILED):
            job.control = Control()
            job.error = ""
            self._set(job, QUEUED)
            self._queue.put(job.id)

    def cancel(self, job_id: int) -> None:
        job = self._jobs[job_id]
        job.control.cancel.set()
        if job.state in (QUEUED, PAUSED, FAILED):
            self._cleanup(job)
            self._set(job, CANCELLED)

    def restore(self) -> list[DownloadJob]:
        """Jobs left unfinished by an earlier run, back as paused (their bytes kept)."""
        restored = []
        for path in sorted((self.downloads_dir / "jobs").glob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                job = self.submit(raw["repo"], raw["files"], revision=raw.get("revision", ""),
                                  license_id=raw.get("license_id", ""),
                                  total_bytes=int(raw.get("total_bytes", 0)), start=False,
                                  source=raw.get("source"))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("unreadable download job %s (%s); ignored", path.name, exc)
                continue
            restored.append(job)
        return restored

    def shutdown(self) -> None:
        for job in self.jobs():
            if job.state == RUNNING:
                job.control.pause.set()
        for _ in self._threads:
            self._queue.put(None)

    # -- internals ------------------------------------------------------------------------
    def _job_file(self, job: DownloadJob) -> Path:
        return self.downloads_dir / "jobs" / f"{job.key}.json"

    def _save(self, job: DownloadJob) -> None:
        try:  # atomic: a full disk never leaves half a job file that hides the resume
            write_json_atomic(self._job_file(job), {
                "repo": job.repo, "files": job.files, "revision": job.revision,
                "license_id": job.license_id, "total_bytes": job.total_bytes,
                **({"source": job.source} if job.source else {})})
        except OSError as exc:  # the download itself may still fit; it just won't be restored
            log.warning("cannot record download %s (%s); it will not resume after a restart",
                        job.label, exc.strerror or exc)

    def _cleanup(self, job: DownloadJob) -> None:
        self._job_file(job).unlink(missing_ok=True)
        part_root = self.downloads_dir / job.repo.replace("/", "__")
        for name in job.files:
            if ".." not in name and not name.startswith("/"):
                discard(part_root / f"{name}.part")

    def _set(self, job: DownloadJob, state: str) -> None:
        job.state = state
        if state != RUNNING:
            job.speed_bps, job.eta_s = 0.0, None
        self._notify(job)

    def _notify(self, job: DownloadJob) -> None:
        for fn in list(self._listeners):
            try:
                fn(job)
            except Exception:
                log.exception("download listener failed")

    def _worker(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            job = self._jobs.get(job_id)
            if job is None or job.state != QUEUED:
                continue
            self._run(job)

    def _run(self, job: DownloadJob) -> None:
        self._set(job, RUNNING)
        last = [0.0]

        def progress(done: int, total: int) -> None:
            job._meter(done, total)
            now = time.monotonic()
            if now - last[0] >= 0.2 or done >= total:
                last[0] = now
                self._notify(job)

        config = self.config()
        try:
            if job.source is not None:
                self._run_source(job, config, progress)
                return
            model, verification = download_verified(
                config, self.library, self.downloads_dir, job.repo, job.files,
                revision=job.revision or None, license_id=job.license_id, progress=progress,
                fetcher=Fetcher(config, control=job.control))
        except Stopped as stop:
            if stop.kind == "cancelled":
                self._cleanup(job)
                self._set(job, CANCELLED)
            else:
                self._set(job, PAUSED)
            return
        except FiresideError as exc:
            job.error = str(exc)
            self._set(job, FAILED)
            return
        except Exception as exc:  # a bug: keep the app alive, say so, log the traceback
            log.exception("download %s failed", job.label)
            job.error = f"unexpected error: {exc}"
            self._set(job, FAILED)
            return
        self._done(job, model, verification.summary())

    def _done(self, job: DownloadJob, model: LocalModel, verified: str) -> None:
        job.model_name = model.name
        job.verified = verified
        job.done_bytes = job.total_bytes = model.size_bytes
        self._job_file(job).unlink(missing_ok=True)
        self._set(job, DONE)

    def _run_source(self, job: DownloadJob, config: HubConfig,
                    progress: Callable[[int, int], None]) -> None:
        """A URL or GitHub job: the same Fetcher, via core/hub/source_download.py."""
        from fireside.core.hub.source_download import download_resolved
        from fireside.core.hub.sources import Resolved

        assert job.source is not None
        out = download_resolved(Resolved.from_json(job.source), self.library,
                                self.downloads_dir, hub=config, progress=progress,
                                control=job.control)
        self._done(job, out.model, out.note)
