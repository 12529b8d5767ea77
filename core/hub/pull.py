"""`fireside pull REPO[:QUANT | /FILENAME]`: one download with a progress bar, resumable.

Interrupting it (Ctrl-C, a kill, a crash) leaves the ``.part`` file and its sidecar behind;
running the same command again resumes from the byte offset already on disk.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from fireside.core.cli.output import emit_json, human_bytes, note
from fireside.core.context import AppContext
from fireside.core.errors import FiresideError
from fireside.core.hub.catalog import FileChoice, RepoDetail, repo_detail
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import download_verified, validate_repo

PREFERRED = ("Q4_K_M", "Q4_K_S", "Q4_0", "Q5_K_M", "Q4_1", "IQ4_XS", "Q5_0", "Q6_K", "Q8_0")


def parse_spec(spec: str) -> tuple[str, str]:
    """``owner/name[:QUANT]`` or ``owner/name/path/file.gguf`` → (repo, selector)."""
    spec = spec.strip()
    parts = spec.split("/")
    if len(parts) < 2:
        raise FiresideError(f"not a model spec: {spec!r} (use owner/repo[:QUANT] or "
                            "owner/repo/FILE.gguf)")
    if len(parts) == 2:
        repo, _, quant = spec.partition(":")
        return validate_repo(repo), quant
    return validate_repo("/".join(parts[:2])), "/".join(parts[2:])


def pick(detail: RepoDetail, selector: str) -> FileChoice:
    if not detail.choices:
        raise FiresideError(f"{detail.repo} has no GGUF files")
    if selector:
        choice = detail.choice(selector)
        if choice is None:
            quants = ", ".join(sorted({c.quant for c in detail.choices}))
            raise FiresideError(f"{detail.repo} has no {selector!r}; available: {quants}")
        return choice
    for quant in PREFERRED:
        choice = detail.choice(quant)
        if choice is not None:
            return choice
    return detail.choices[0]


def run_pull(ctx: AppContext, args: argparse.Namespace) -> int:
    settings = ctx.settings.read()
    config = HubConfig.from_settings(settings.hub)
    repo, selector = parse_spec(args.spec)
    detail = repo_detail(config, repo, with_readme=False)
    choice = pick(detail, selector)
    sizes = {f.path: f.size for f in choice.files}
    shas = {f.path: f.sha256 for f in choice.files}
    lic = detail.license
    note(f"{repo}: {choice.name} ({choice.quant}, {human_bytes(choice.size)}) — "
         f"license {lic.license_id or '?'}: {lic.label}")
    if detail.gated:
        note("This repo is gated: its terms must be accepted on the Hub and a token set.")
    bar = _Bar(choice.name, choice.size, quiet=bool(getattr(args, "json", False)))
    try:
        with bar:
            model, verified = download_verified(
                config, ctx.library, ctx.paths.downloads, repo, [f.path for f in choice.files],
                revision=detail.sha or None, sizes=sizes, shas=shas,
                license_id=lic.license_id, progress=bar.update)
    except KeyboardInterrupt:
        note("Interrupted: the partial download is kept; run the same command to resume.")
        raise
    rate = bar.rate()
    if args.json:
        data: dict[str, Any] = model.to_json()
        data["license_verdict"] = lic.to_json()
        data["verification"] = {"sha256_verified": verified.sha256_verified,
                                "sha256_checked_files": verified.sha256_checked,
                                "files": verified.files, "summary": verified.summary()}
        data["transfer"] = {"bytes": bar.transferred, "seconds": bar.elapsed(),
                            "bytes_per_s": rate}
        emit_json(data)
    else:
        note(f"Downloaded {model.name} ({human_bytes(model.size_bytes)}, "
             f"{human_bytes(rate)}/s), {verified.summary()}.")
    return 0


class _Bar:
    """A rich progress bar on stderr; also measures the transfer rate for the benchmark.

    ``update`` runs on the download's writer thread for every block, so it only records
    numbers and redraws at most ten times a second. With ``--json`` no bar is drawn and rich
    is not even imported.
    """

    def __init__(self, label: str, total: int, quiet: bool) -> None:
        self.total = total
        self.first: int | None = None
        self.last = 0
        self.t0 = 0.0
        self.t1 = 0.0
        self._shown = 0.0
        self.progress: Any = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
        self.task = self.progress.add_task(label.rsplit("/", 1)[-1][:40], total=total)

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first, self.t0 = done, now
        self.last, self.t1 = done, now
        if self.progress is not None and (now - self._shown > 0.1 or done >= total):
            self._shown = now
            self.progress.update(self.task, completed=done, total=total)

    @property
    def transferred(self) -> int:
        return self.last - (self.first or 0)

    def elapsed(self) -> float:
        return max(1e-9, self.t1 - self.t0)

    def rate(self) -> float:
        return self.transferred / self.elapsed()
