"""Downloading a :class:`~fireside.core.hub.sources.Resolved` with the Hub's transfer code.

No second downloader: the bytes go through :class:`~fireside.core.hub.download.Fetcher`
(``.part`` + sidecar, resume by byte offset, retries, sha256 checked before the rename), and
Hub references go straight to :func:`~fireside.core.hub.download.download_verified`. What is
new is only where the files land (``models/url/HOST``, ``models/github/OWNER/REPO``), the
per-hop token rule of the source, and a note that says which check applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fireside.core.errors import DownloadError, FiresideError
from fireside.core.hub.common import HubConfig
from fireside.core.hub.download import (
    Control,
    Fetcher,
    FilePlan,
    _inside,
    discard,
    download_verified,
    fetch_parts,
    safe_relpath,
)
from fireside.core.hub.remote_header import Fit, remote_fit, unknown_fit
from fireside.core.hub.sources import Resolved, file_name, shown_url
from fireside.core.models.library import Library, LocalModel
from fireside.core.models.meta import ModelMeta

log = logging.getLogger("fireside.hub.sources")
Progress = Callable[[int, int], None]


class SourceFetcher(Fetcher):
    """The Hub's fetcher, with refusals worded for any server (not "this repo is gated")."""

    def _refused(self, plan: FilePlan, status: int, code: str) -> Exception:
        return DownloadError(f"{plan.path}: the server answered {status}")


@dataclass(frozen=True)
class Outcome:
    model: LocalModel
    verified: bool
    note: str  # which check applied, or that none could
    transferred: int


def check_note(resolved: Resolved, verified: bool) -> str:
    if verified:
        return f"sha256 verified ({resolved.check})"
    return (f"not sha256-verified — {resolved.check}; size checked "
            f"({resolved.size:,} bytes)")


def fit_before(resolved: Resolved, hub: HubConfig, n_ctx: int = 4096
               ) -> tuple[Fit, ModelMeta | None]:
    """The fit verdict from the remote header (a Range request), as Discover gives it."""
    if not resolved.resumable:  # a GET without Range would fetch the whole file for a header
        return unknown_fit(resolved.size, n_ctx, why="the server does not support Range "
                           "requests"), None
    auth = hub if resolved.kind == "hf" else resolved.auth()
    return remote_fit(auth, resolved.files[0].url, resolved.size, n_ctx)


def download_resolved(resolved: Resolved, library: Library, downloads_dir: Path, *,
                      hub: HubConfig, progress: Progress | None = None,
                      control: Control | None = None) -> Outcome:
    """Fetch, verify, move into place and register; a partial is never listed."""
    say = progress or (lambda _d, _t: None)
    if resolved.kind == "hf":
        model, ver = download_verified(
            hub, library, downloads_dir, resolved.repo, [f.name for f in resolved.files],
            revision=resolved.revision or None,
            sizes={f.name: f.size for f in resolved.files},
            shas={f.name: f.sha256 for f in resolved.files},
            license_id=resolved.license.license_id, progress=say,
            fetcher=Fetcher(hub, control=control))
        return Outcome(model, ver.sha256_verified, check_note(resolved, ver.sha256_verified),
                       resolved.size)
    names = [file_name(f.name) for f in resolved.files]  # refuse before any write
    for seg in resolved.folder.split("/"):
        safe_relpath(seg)
    if any(f.size <= 0 for f in resolved.files):
        raise FiresideError(f"{resolved.label}: the server does not say how big the file is, "
                            "so a whole download cannot be told from a cut one")
    final_root = library.models_dir / Path(*resolved.folder.split("/"))
    part_root = downloads_dir / resolved.folder.replace("/", "__")
    targets = [_inside(final_root, safe_relpath(n)) for n in names]
    parts = [_inside(part_root, safe_relpath(n + ".part")) for n in names]
    plans = [FilePlan(resolved.label, f.name, f.url, f.size, f.sha256, "", resolved.revision)
             for f in resolved.files]
    fetcher = SourceFetcher(resolved.auth(), control=control)
    pending = [(p, part, t) for p, part, t in zip(plans, parts, targets, strict=True)
               if not (t.exists() and t.stat().st_size == p.size)]
    if not resolved.resumable:
        for _p, part, _t in pending:
            discard(part)  # no Range: whatever is on disk cannot be continued
    got, transferred = fetch_parts(fetcher, pending, resolved.size, downloads_dir, say)
    verified = resolved.verifiable and all(p.sha256 for p in plans)
    first = got.get(plans[0].path) or plans[0].sha256
    model = library.register(targets, source=shown_url(resolved.files[0].url),
                             license=resolved.license.license_id, sha256=first)
    log.info("%s: %s", resolved.label, check_note(resolved, verified))
    return Outcome(model, verified, check_note(resolved, verified), transferred)
